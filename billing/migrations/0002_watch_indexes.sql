-- Indexes for finding the invoices a gateway must still watch without reading every
-- invoice: the rare ones whose settlement was reverted, and the payments not yet final
-- (state 1, seen), by confirmations. Both are partial, so adding an invoice or a final
-- payment does not write to them.
CREATE INDEX invoices_reverted ON invoices (id) WHERE settlement_reverted = 1;
CREATE INDEX payments_following ON payments (confirmations, invoice_id) WHERE state = 1;
