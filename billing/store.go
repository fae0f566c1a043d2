package billing

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// Errors the store returns, wrapped with the values involved; test for them with errors.Is.
var (
	// ErrNotFound is returned when no row has the requested key.
	ErrNotFound = errors.New("billing: not found")
	// ErrNonceReused is returned when a customer's order repeats a nonce they already used:
	// the envelope is a replay.
	ErrNonceReused = errors.New("billing: order nonce already used by this customer")
	// ErrDuplicate is returned when an insert would reuse a unique key: an invoice or order
	// id, a destination, or an account's derivation index.
	ErrDuplicate = errors.New("billing: duplicate key")
	// ErrConflict is returned when an update names a version that is no longer current,
	// because another writer updated the row since it was read. Read it again and retry.
	ErrConflict = errors.New("billing: row changed since it was read")
)

// Store keeps orders, invoices, payments, derivation indexes and chain cursors. Every method
// of Queries called on the Store runs in its own transaction; InTx runs several in one.
//
// SQLStore implements it on SQLite and on PostgreSQL.
type Store interface {
	Queries

	// InTx runs fn in one transaction, committed if fn returns nil and rolled back
	// otherwise (and if fn panics). The transaction is also available to other code that
	// must write atomically with the store, such as River's InsertTx, through StoreTx.
	// On SQLite, where one writer runs at a time, InTx takes the write lock when it begins.
	InTx(ctx context.Context, fn func(tx StoreTx) error) error

	// Close releases the store's connections.
	Close() error
}

// StoreTx is a transaction on the store: the queries, and the underlying database
// transaction for writing other tables in it. Exactly one of SQLTx and PgxTx is non-nil,
// depending on the engine: SQLite runs on database/sql (riversqlite takes the *sql.Tx) and
// PostgreSQL on pgx (riverpgxv5 takes the pgx.Tx).
type StoreTx interface {
	Queries

	// SQLTx returns the database/sql transaction, or nil on PostgreSQL.
	SQLTx() *sql.Tx
	// PgxTx returns the pgx transaction, or nil on SQLite.
	PgxTx() pgx.Tx
}

// Queries are the store's reads and writes. Keys named in the errors are those of
// ErrNotFound, ErrDuplicate, ErrNonceReused and ErrConflict.
type Queries interface {
	// InsertOrder stores a verified order. It returns ErrNonceReused if the customer used
	// the order's nonce before, and ErrDuplicate if the ID exists.
	InsertOrder(ctx context.Context, order *Order) error
	// Order returns the order with the ID, or ErrNotFound.
	Order(ctx context.Context, id string) (*Order, error)

	// InsertInvoice stores a new invoice and sets its Version to 1. It returns ErrDuplicate
	// if the ID, the destination, or the account's derivation index is already used.
	InsertInvoice(ctx context.Context, inv *Invoice) error
	// Invoice returns the invoice with the ID, or ErrNotFound.
	Invoice(ctx context.Context, id string) (*Invoice, error)
	// InvoiceByDestination returns the invoice paid to the destination, or ErrNotFound.
	InvoiceByDestination(ctx context.Context, destination string) (*Invoice, error)
	// InvoicesByOrder returns the order's invoices, oldest first.
	InvoicesByOrder(ctx context.Context, orderID string) ([]*Invoice, error)
	// WatchedInvoices returns the invoices whose payments can still change their state at
	// the time given, oldest first. These are the invoices not final whose monitoring
	// window has not ended. Whatever the time, they also include those in Processing, those
	// with a reverted settlement, and those with a payment confirmed fewer than followDepth
	// times, which a reorganisation can still take away (none when followDepth is 0).
	WatchedInvoices(ctx context.Context, now time.Time, followDepth int32) ([]*Invoice, error)
	// UpdateInvoice writes the invoice's State, Status, SettlementReverted, Paid, Confirmed
	// and UpdatedAt if its Version is still the stored one, and increments Version. It
	// returns ErrConflict if another write came first, and ErrNotFound if there is no such
	// invoice.
	UpdateInvoice(ctx context.Context, inv *Invoice) error

	// SavePayment inserts or updates the payment, keyed by (InvoiceID, TxID, Vout), so the
	// same output is counted once however often it is reported. The first SeenAt is kept.
	// It returns whether anything stored changed.
	SavePayment(ctx context.Context, p Payment) (changed bool, err error)
	// Payments returns the invoice's payments in the order they were first seen.
	Payments(ctx context.Context, invoiceID string) ([]Payment, error)

	// NextDerivationIndex allocates the account's next unused derivation index, starting
	// at 0. Two calls never return the same index, even from different processes; an index
	// allocated in a transaction that rolls back is given out again.
	NextDerivationIndex(ctx context.Context, account string) (uint32, error)
	// DerivationUsage returns how the account's derivation indexes have been used, for the
	// gap-limit check.
	DerivationUsage(ctx context.Context, account string) (DerivationUsage, error)

	// LoadCursor returns the chain position saved under the name, or ErrNotFound.
	LoadCursor(ctx context.Context, name string) (ChainCursor, error)
	// SaveCursor saves the chain position under the name, replacing the previous one.
	SaveCursor(ctx context.Context, name string, cursor ChainCursor) error
}

// DerivationUsage summarises an account's derivation indexes.
type DerivationUsage struct {
	// Allocated is the number of indexes given out: 0 to Allocated-1.
	Allocated uint32
	// HighestPaid is the highest index whose invoice received a payment; valid only when
	// AnyPaid is set.
	HighestPaid uint32
	AnyPaid     bool
}

// UnpaidRun returns the number of consecutive allocated indexes, at the end of the range,
// that received no payment. A wallet that scans the account stops looking after this many
// unused addresses (its gap limit).
func (u DerivationUsage) UnpaidRun() uint32 {
	if !u.AnyPaid {
		return u.Allocated
	}
	return u.Allocated - u.HighestPaid - 1
}

// ChainCursor is the last block a payment tracker processed, saved so that it resumes
// there after a restart.
type ChainCursor struct {
	// Hash is the block hash in the usual byte-reversed hex.
	Hash string
	// Height is the block's height.
	Height int32
}
