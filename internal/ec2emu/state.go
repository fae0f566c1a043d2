package ec2emu

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Instance states as EC2 names them, with their numeric codes in instanceStateCodes.
const (
	StatePending      = "pending"
	StateRunning      = "running"
	StateShuttingDown = "shutting-down"
	StateTerminated   = "terminated"
)

var instanceStateCodes = map[string]int{
	StatePending:      0,
	StateRunning:      16,
	StateShuttingDown: 32,
	StateTerminated:   48,
}

// Instance is an emulated instance. The stored record derives its state from the timestamps,
// and [Server.Instances] returns copies with State set for the current time.
type Instance struct {
	ID            string            `json:"id"`
	ReservationID string            `json:"reservation_id"`
	ImageID       string            `json:"image_id"`
	InstanceType  string            `json:"instance_type"`
	KeyName       string            `json:"key_name,omitempty"`
	ClientToken   string            `json:"client_token,omitempty"`
	Zone          string            `json:"zone"`
	LaunchIndex   int               `json:"launch_index"`
	PrivateIP     string            `json:"private_ip"`
	PublicIP      string            `json:"public_ip,omitempty"`
	LaunchTime    time.Time         `json:"launch_time"`
	UserData      string            `json:"user_data,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
	// HostKeys are the instance's SSH host public keys in authorized_keys format, without a
	// comment.
	HostKeys []string `json:"host_keys"`
	// TerminateTime is when TerminateInstances was first called for it, or zero.
	TerminateTime time.Time `json:"terminate_time,omitzero"`

	// State is the state at the time of the snapshot; it is not stored.
	State string `json:"-"`
}

// KeyPair is an imported SSH key pair.
type KeyPair struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Fingerprint string            `json:"fingerprint"`
	Type        string            `json:"type"`
	PublicKey   string            `json:"public_key"`
	CreateTime  time.Time         `json:"create_time"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// clientTokenRecord remembers what a RunInstances ClientToken was first used for.
type clientTokenRecord struct {
	Request       string `json:"request"`
	ReservationID string `json:"reservation_id"`
}

// state is everything the emulator persists.
type state struct {
	Instances    []*Instance                  `json:"instances"`
	KeyPairs     []*KeyPair                   `json:"key_pairs"`
	ClientTokens map[string]clientTokenRecord `json:"client_tokens"`
	// NextPrivateHost numbers the private addresses handed out so far.
	NextPrivateHost int `json:"next_private_host"`
}

func newState() *state {
	return &state{ClientTokens: map[string]clientTokenRecord{}}
}

// stateAt returns the instance's state at now and whether DescribeInstances still shows it.
func (inst *Instance) stateAt(now time.Time, t *Timings) (string, bool) {
	if !inst.TerminateTime.IsZero() {
		terminated := inst.TerminateTime.Add(t.ShuttingDown)
		switch {
		case now.Before(terminated):
			return StateShuttingDown, true
		default:
			return StateTerminated, now.Before(terminated.Add(t.TerminatedVisible))
		}
	}
	if now.Before(inst.LaunchTime.Add(t.Pending)) {
		return StatePending, true
	}
	return StateRunning, true
}

func (inst *Instance) clone() *Instance {
	c := *inst
	c.Tags = maps.Clone(inst.Tags)
	c.HostKeys = slices.Clone(inst.HostKeys)
	return &c
}

func (k *KeyPair) clone() *KeyPair {
	c := *k
	c.Tags = maps.Clone(k.Tags)
	return &c
}

// loadState reads the state file, or returns an empty state when it does not exist yet.
func loadState(path string) (*state, error) {
	st := newState()
	if path == "" {
		return st, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ec2emu: unable to read state file: %w", err)
	}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("ec2emu: state file %s is not valid JSON: %w", path, err)
	}
	if st.ClientTokens == nil {
		st.ClientTokens = map[string]clientTokenRecord{}
	}
	if err := st.validate(); err != nil {
		return nil, fmt.Errorf("ec2emu: state file %s is invalid: %w", path, err)
	}
	return st, nil
}

// validate checks what a hand-edited state file could break and every action relies on: no
// null entries, and an id on each instance and a name on each key pair.
func (st *state) validate() error {
	for i, inst := range st.Instances {
		if inst == nil || inst.ID == "" {
			return fmt.Errorf("instances[%d] is null or has no id", i)
		}
	}
	for i, k := range st.KeyPairs {
		if k == nil || k.Name == "" {
			return fmt.Errorf("key_pairs[%d] is null or has no name", i)
		}
	}
	return nil
}

// saveState writes the state to path through a temporary file and a rename, so a crash leaves
// either the old or the new file, never a torn one.
func saveState(path string, st *state) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("ec2emu: unable to encode state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("ec2emu: unable to create temporary state file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("ec2emu: unable to write state file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("ec2emu: unable to sync state file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("ec2emu: unable to close state file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("ec2emu: unable to replace state file: %w", err)
	}
	return nil
}
