package main

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// rateLimiter is a token bucket per client address: each address may submit burst orders at
// once and then one every 1/rate.
type rateLimiter struct {
	mu      sync.Mutex
	rate    float64 // tokens per second
	burst   float64
	now     func() time.Time
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxBuckets bounds the table; past it, full buckets are dropped, since a full bucket is
// the same as none.
const maxBuckets = 10000

func newRateLimiter(perMinute float64, burst int) *rateLimiter {
	if perMinute <= 0 {
		perMinute = 6
	}
	if burst <= 0 {
		burst = 3
	}
	return &rateLimiter{rate: perMinute / 60, burst: float64(burst), now: time.Now,
		buckets: map[string]*bucket{}}
}

// allow takes a token for the address, or returns how long until one is available.
func (l *rateLimiter) allow(address string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[address]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.dropFull(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[address] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second)), false
}

func (l *rateLimiter) dropFull(now time.Time) {
	for address, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, address)
		}
	}
}

// clientAddress is the request's remote IP address. Forwarded headers are not trusted: a
// proxy in front of the server should limit by its own means.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
