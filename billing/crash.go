package billing

import "os"

// CrashEnvVariable names the environment variable that makes the process kill itself with
// SIGKILL when it reaches the named crash point. The crash tests set it, restart the service
// after each kill and check that no payment is lost and nothing is done twice. Leave it unset
// in production.
const CrashEnvVariable = "INSTARS_CRASH_AT"

// The crash points: each lies between a side effect and the record of it, or between a commit
// and the next step, where a crash is most likely to lose or repeat work.
const (
	crashOrderBeforeWatch        = "order-committed-before-watch"
	crashPaymentAfterCommit      = "payment-committed-before-ack"
	crashProvisionBeforeLaunch   = "provision-before-launch"
	crashAfterLaunchBeforeRecord = "after-launch-before-record"
	crashProvisionAfterRecord    = "provision-recorded-before-job-done"
	crashLeaseDueAfterCommit     = "lease-due-committed-before-job-done"
	crashTerminateBeforeCloud    = "terminate-before-cloud"
	crashTerminateBeforeRecord   = "after-terminate-before-record"
	crashWebhookBeforeLog        = "webhook-posted-before-log"
	crashDeadlineAfterCommit     = "invoice-deadline-committed-before-job-done"
)

// crashPoints lists every crash point, for the tests that try each one.
var crashPoints = []string{
	crashOrderBeforeWatch, crashPaymentAfterCommit, crashProvisionBeforeLaunch,
	crashAfterLaunchBeforeRecord, crashProvisionAfterRecord, crashLeaseDueAfterCommit,
	crashTerminateBeforeCloud, crashTerminateBeforeRecord, crashWebhookBeforeLog,
	crashDeadlineAfterCommit,
}

var crashAtPoint = os.Getenv(CrashEnvVariable)

// crashPoint kills the process, as a power cut or the OOM killer would, when the crash test
// asked for this point.
func crashPoint(name string) {
	if crashAtPoint != "" && crashAtPoint == name {
		// On Unix, Kill sends SIGKILL; on Windows it calls TerminateProcess.
		if self, err := os.FindProcess(os.Getpid()); err == nil {
			_ = self.Kill()
		}
		select {} // the signal is delivered asynchronously; never continue past the point
	}
}
