// Package eucalyptus drives the instance lifecycle over the EC2 API with aws-sdk-go-v2, so it
// works against Eucalyptus, AWS EC2 or any EC2-compatible cloud: configuration from a eucarc
// file or the usual AWS settings, launch with an idempotency token, wait, describe, terminate and
// reconcile.
package eucalyptus
