package ec2emu_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/instars/instars/internal/ec2emu"
)

// lockedBuffer is a bytes.Buffer that the server's goroutines may write concurrently.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestLogsCarryNoSecrets(t *testing.T) {
	var logs lockedBuffer
	b := setup(t, func(c *ec2emu.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs,
			&slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	wrong := newClient(t, b.url, testAccessKey, "wrong-secret-value", testRegion)
	_, err := wrong.DescribeRegions(ctx(t), &ec2.DescribeRegionsInput{})
	requireAPIError(t, err, "AuthFailure")
	if _, err := b.client.DescribeRegions(ctx(t), &ec2.DescribeRegionsInput{}); err != nil {
		t.Fatal(err)
	}

	text := logs.String()
	if !strings.Contains(text, "AuthFailure") {
		t.Errorf("the rejected request was not logged:\n%s", text)
	}
	for _, secret := range []string{testSecretKey, "wrong-secret-value", "Signature="} {
		if strings.Contains(text, secret) {
			t.Errorf("logs contain %q:\n%s", secret, text)
		}
	}
}
