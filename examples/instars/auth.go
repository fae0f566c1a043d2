package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// adminAuth checks HTTP Basic credentials against the configured admin user. The password
// is kept only as a bcrypt hash or a SHA-256 digest, never logged.
type adminAuth struct {
	user       string
	bcryptHash []byte
	digest     [sha256.Size]byte
}

func newAdminAuth(cfg adminConfig) (*adminAuth, error) {
	if cfg.User == "" {
		return nil, errors.New("admin.user is missing")
	}
	a := &adminAuth{user: cfg.User}
	switch {
	case cfg.PasswordHash != "":
		if _, err := bcrypt.Cost([]byte(cfg.PasswordHash)); err != nil {
			return nil, fmt.Errorf("admin.password_hash is not a bcrypt hash: %w", err)
		}
		a.bcryptHash = []byte(cfg.PasswordHash)
	case cfg.PasswordFile != "":
		password, err := readSecretFile(cfg.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("admin.password_file: %w", err)
		}
		a.digest = sha256.Sum256([]byte(password))
	default:
		return nil, errors.New("admin: set password_hash or password_file")
	}
	return a, nil
}

// check reports whether the request carries the admin's credentials. The user name and a
// password file's digest are compared in constant time.
func (a *adminAuth) check(r *http.Request) bool {
	user, password, ok := r.BasicAuth()
	if !ok {
		return false
	}
	userDigest, wantUser := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(a.user))
	userOK := subtle.ConstantTimeCompare(userDigest[:], wantUser[:]) == 1
	var passwordOK bool
	if a.bcryptHash != nil {
		passwordOK = bcrypt.CompareHashAndPassword(a.bcryptHash, []byte(password)) == nil
	} else {
		digest := sha256.Sum256([]byte(password))
		passwordOK = subtle.ConstantTimeCompare(digest[:], a.digest[:]) == 1
	}
	return userOK && passwordOK
}

// require wraps an admin handler with HTTP Basic authentication.
func (a *adminAuth) require(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !a.check(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="instars admin", charset="UTF-8"`)
			const message = "authentication required: give the admin user and password " +
				"with HTTP Basic authentication"
			if strings.HasPrefix(r.URL.Path, "/api/") {
				writeJSON(w, http.StatusUnauthorized, apiError{Error: message,
					Code: "unauthorized"})
				return
			}
			http.Error(w, message, http.StatusUnauthorized)
			return
		}
		next(w, r)
	}
}
