package billing

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// AlertKind names something the operator must look at.
type AlertKind string

// The alert kinds.
const (
	// AlertLaunchFailed: a paid lease could not be provisioned; a refund record was made.
	AlertLaunchFailed AlertKind = "launch_failed"
	// AlertSettlementReverted: a settled payment was reorganised away; its lease is
	// suspended until the payment confirms again.
	AlertSettlementReverted AlertKind = "settlement_reverted"
	// AlertRefundDue: money is owed to a customer (an overpayment, a declined late payment).
	AlertRefundDue AlertKind = "refund_due"
	// AlertTerminateFailed: an instance whose lease ended could not be terminated yet.
	AlertTerminateFailed AlertKind = "terminate_failed"
	// AlertUnpaidInstance: reconciliation found and terminated an instance no lease pays for.
	AlertUnpaidInstance AlertKind = "unpaid_instance"
	// AlertUnknownInstance: reconciliation found an instance tagged with an unknown lease.
	AlertUnknownInstance AlertKind = "unknown_instance"
	// AlertInstanceMissing: a running lease's instance is gone from the cloud.
	AlertInstanceMissing AlertKind = "instance_missing"
	// AlertLatePayment: an invoice was paid after its expiry and waits for the operator's
	// decision (LatePayments is LateHold).
	AlertLatePayment AlertKind = "late_payment"
	// AlertGatewayStopped: the payment gateway stopped for a reason a restart does not
	// fix, such as a saved chain position that is not on the node's chain. No payment is
	// followed until the operator acts.
	AlertGatewayStopped AlertKind = "gateway_stopped"
)

// Alert is a message to the operator. Alerts are stored in the transaction of the change
// that raises them and then passed to the Notifier.
type Alert struct {
	ID        string
	Kind      AlertKind
	Subject   string
	Message   string
	CreatedAt time.Time
}

// Notifier tells the operator about alerts, for example by e-mail or a chat message. It is
// called after the alert is stored, at least once per alert: a crash between storing and
// notifying sends it when the service restarts its notify job.
type Notifier interface {
	Notify(ctx context.Context, alert Alert) error
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, alert Alert) error

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, alert Alert) error { return f(ctx, alert) }

// LogNotifier writes alerts to a logger at warning level; it is the default Notifier.
type LogNotifier struct{ Logger *slog.Logger }

// Notify logs the alert.
func (n LogNotifier) Notify(ctx context.Context, alert Alert) error {
	n.Logger.WarnContext(ctx, "operator alert", "alert_id", alert.ID, "kind", alert.Kind,
		"subject", alert.Subject, "message", alert.Message)
	return nil
}

func insertAlert(ctx context.Context, db sqlRunner, a Alert) error {
	_, err := db.exec(ctx, `INSERT INTO operator_alerts (id, kind, subject, message, created_at)
		VALUES ($1, $2, $3, $4, $5)`, a.ID, string(a.Kind), a.Subject, a.Message,
		micros(a.CreatedAt))
	if err != nil {
		return fmt.Errorf("billing: storing %s alert: %w", a.Kind, err)
	}
	return nil
}

func loadAlert(ctx context.Context, db sqlRunner, id string) (Alert, error) {
	var a Alert
	var kind string
	var created int64
	err := queryRow(ctx, db, []any{&a.ID, &kind, &a.Subject, &a.Message, &created},
		`SELECT id, kind, subject, message, created_at FROM operator_alerts WHERE id = $1`, id)
	if err == errNoRows {
		return Alert{}, fmt.Errorf("billing: alert %q: %w", id, ErrNotFound)
	}
	a.Kind, a.CreatedAt = AlertKind(kind), fromMicros(created)
	return a, err
}

// listAlerts returns the newest limit alerts, oldest first.
func listAlerts(ctx context.Context, db sqlRunner, limit int) ([]Alert, error) {
	rows, err := db.query(ctx, `SELECT id, kind, subject, message, created_at
		FROM operator_alerts ORDER BY created_at DESC, id DESC LIMIT $1`, int64(limit))
	if err != nil {
		return nil, fmt.Errorf("billing: listing alerts: %w", err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		var a Alert
		var kind string
		var created int64
		if err := rows.Scan(&a.ID, &kind, &a.Subject, &a.Message, &created); err != nil {
			return nil, fmt.Errorf("billing: reading alert: %w", err)
		}
		a.Kind, a.CreatedAt = AlertKind(kind), fromMicros(created)
		out = append(out, a)
	}
	slices.Reverse(out)
	return out, rows.Err()
}
