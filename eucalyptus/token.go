package eucalyptus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go/middleware"
)

// ClientToken returns the RunInstances idempotency token for a lease's launch attempt. EC2
// launches at most one instance per token and returns the instance it already launched for a
// repeated request, so a retried or repeated Launch never launches twice. The token is
// "instars-" and 48 hex digits of SHA-256 over the lease id and attempt: 56 ASCII characters,
// within EC2's limit of 64, and the same in every process.
func ClientToken(leaseID string, attempt int) string {
	sum := sha256.Sum256([]byte(leaseID + "\x00" + strconv.Itoa(attempt)))
	return "instars-" + hex.EncodeToString(sum[:24])
}

// addRequireClientToken adds requireClientToken to a client's middleware stack.
func addRequireClientToken(stack *middleware.Stack) error {
	return stack.Initialize.Add(requireClientToken{}, middleware.Before)
}

// requireClientToken rejects a RunInstances call that has no client token before it is sent,
// because the retryer repeats failed calls and only the token makes repeating RunInstances safe.
type requireClientToken struct{}

func (requireClientToken) ID() string { return "InstarsRequireClientToken" }

func (requireClientToken) HandleInitialize(ctx context.Context, in middleware.InitializeInput,
	next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	run, isRun := in.Parameters.(*ec2.RunInstancesInput)
	if isRun && aws.ToString(run.ClientToken) == "" {
		return middleware.InitializeOutput{}, middleware.Metadata{},
			fmt.Errorf("%w: RunInstances without a client token could launch twice when "+
				"retried", ErrInvalidRequest)
	}
	return next.HandleInitialize(ctx, in)
}
