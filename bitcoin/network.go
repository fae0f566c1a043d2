package bitcoin

import (
	"fmt"
	"sort"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"
)

// Network is a bitcoin network the server takes payments on.
type Network struct {
	// Name is the canonical lowercase name: mainnet, testnet3, signet or regtest.
	Name string
	// Params are btcd's consensus and encoding parameters for the network.
	Params *chaincfg.Params
}

// The networks btcd v0.24 knows. Testnet4 is missing because btcd v0.24 has no parameters
// for it.
var (
	Mainnet  = &Network{Name: "mainnet", Params: &chaincfg.MainNetParams}
	Testnet3 = &Network{Name: "testnet3", Params: &chaincfg.TestNet3Params}
	Signet   = &Network{Name: "signet", Params: &chaincfg.SigNetParams}
	Regtest  = &Network{Name: "regtest", Params: &chaincfg.RegressionNetParams}
)

var networksByName = map[string]*Network{
	"mainnet":  Mainnet,
	"main":     Mainnet,
	"bitcoin":  Mainnet,
	"testnet3": Testnet3,
	"testnet":  Testnet3,
	"test":     Testnet3,
	"signet":   Signet,
	"regtest":  Regtest,
}

// NetworkByName returns the network with the given name or alias, in any case.
func NetworkByName(name string) (*Network, error) {
	canonical := strings.ToLower(strings.TrimSpace(name))
	if n, ok := networksByName[canonical]; ok {
		return n, nil
	}
	if canonical == "testnet4" {
		return nil, fmt.Errorf("unsupported bitcoin network %q: btcd v0.24 has no parameters "+
			"for testnet4; expected mainnet, testnet3, signet or regtest", name)
	}
	names := make([]string, 0, len(networksByName))
	for k := range networksByName {
		names = append(names, k)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("unknown bitcoin network %q: expected one of %s",
		name, strings.Join(names, ", "))
}

// String returns the network's canonical name.
func (n *Network) String() string { return n.Name }
