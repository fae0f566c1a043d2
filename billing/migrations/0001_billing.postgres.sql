-- The billing store's first schema, for PostgreSQL (the SQLite file differs only in its
-- WITHOUT ROWID tables). Columns use types both engines accept:
-- TEXT, and BIGINT for amounts (satoshis or minor units), times (Unix microseconds, UTC),
-- enumerations and 0/1 flags.

CREATE TABLE orders (
	id TEXT PRIMARY KEY,
	customer TEXT NOT NULL,
	nonce TEXT NOT NULL,
	plan TEXT NOT NULL,
	extends_lease TEXT NOT NULL,
	payload TEXT NOT NULL,
	received_at BIGINT NOT NULL,
	-- A replayed order envelope repeats its customer's nonce.
	CONSTRAINT orders_customer_nonce_unique UNIQUE (customer, nonce)
);

CREATE TABLE invoices (
	id TEXT PRIMARY KEY,
	order_id TEXT NOT NULL REFERENCES orders (id),
	amount BIGINT NOT NULL CHECK (amount > 0),
	price_currency TEXT NOT NULL,
	price_amount BIGINT NOT NULL,
	rate_currency TEXT NOT NULL,
	rate_minor_per_btc BIGINT NOT NULL,
	rate_source TEXT NOT NULL,
	rate_fetched_at BIGINT NOT NULL,
	method TEXT NOT NULL,
	destination TEXT NOT NULL,
	payment_uri TEXT NOT NULL,
	account TEXT NOT NULL,
	derivation_index BIGINT NOT NULL,
	policy_depth BIGINT NOT NULL,
	policy_high_value_threshold BIGINT NOT NULL,
	policy_high_value_depth BIGINT NOT NULL,
	policy_zero_conf BIGINT NOT NULL,
	policy_zero_conf_max BIGINT NOT NULL,
	tolerance_basis_points BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	monitoring_until BIGINT NOT NULL,
	state BIGINT NOT NULL,
	status BIGINT NOT NULL,
	settlement_reverted BIGINT NOT NULL,
	paid BIGINT NOT NULL,
	confirmed BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	version BIGINT NOT NULL,
	-- An address is never given to two invoices.
	CONSTRAINT invoices_destination_unique UNIQUE (destination)
);

-- A derivation index of an account is used once. Gateways without accounts leave it empty.
CREATE UNIQUE INDEX invoices_account_index_unique ON invoices (account, derivation_index)
	WHERE account <> '';
CREATE INDEX invoices_order ON invoices (order_id, created_at);
CREATE INDEX invoices_watch ON invoices (state, monitoring_until);

CREATE TABLE derivation_indexes (
	account TEXT PRIMARY KEY,
	next_index BIGINT NOT NULL
);

-- One row per transaction output per invoice, so a payment reported twice counts once.
CREATE TABLE payments (
	invoice_id TEXT NOT NULL REFERENCES invoices (id),
	txid TEXT NOT NULL,
	vout BIGINT NOT NULL,
	amount BIGINT NOT NULL CHECK (amount > 0),
	confirmations BIGINT NOT NULL,
	block_hash TEXT NOT NULL,
	block_height BIGINT NOT NULL,
	signals_rbf BIGINT NOT NULL,
	state BIGINT NOT NULL,
	seen_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (invoice_id, txid, vout)
);

CREATE TABLE chain_cursors (
	name TEXT PRIMARY KEY,
	block_hash TEXT NOT NULL,
	height BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
