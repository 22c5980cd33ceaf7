"""The redaction outbox: the queue of verification sessions to redact (:mod:`.store`), the
engine that sends it to Stripe (:mod:`.sync`), pacing (:mod:`.pacing`) and the offline
hand-off to an admin (:mod:`.handoff`). Qt-free."""
