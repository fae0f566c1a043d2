package bitcoin_test

import (
	"errors"
	"fmt"

	"github.com/instars/instars/bitcoin"
)

func ExampleParseAccountKey() {
	// The account key of the BIP84 test vectors.
	const zpub = "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToU" +
		"G868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"
	account, err := bitcoin.ParseAccountKey(zpub, bitcoin.Mainnet, bitcoin.ScriptTypeUnspecified)
	if err != nil {
		fmt.Println(err)
		return
	}
	for index := uint32(0); index < 2; index++ {
		address, err := account.ReceiveAddress(index)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(index, address)
	}

	_, err = bitcoin.ParseAccountKey("xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqji"+
		"ChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi", bitcoin.Mainnet,
		bitcoin.ScriptTypeUnspecified)
	fmt.Println(errors.Is(err, bitcoin.ErrPrivateKey))
	// Output:
	// 0 bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu
	// 1 bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g
	// true
}

func ExamplePaymentURI() {
	const zpub = "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToU" +
		"G868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"
	account, err := bitcoin.ParseAccountKey(zpub, bitcoin.Mainnet, bitcoin.ScriptTypeUnspecified)
	if err != nil {
		fmt.Println(err)
		return
	}
	address, err := account.ReceiveAddress(0)
	if err != nil {
		fmt.Println(err)
		return
	}
	amount, err := bitcoin.ParseBTC("0.00012")
	if err != nil {
		fmt.Println(err)
		return
	}
	uri := &bitcoin.PaymentURI{Address: address, Amount: amount, Label: "Invoice 42"}
	fmt.Println(uri)
	fmt.Println(uri.QRString())
	// Output:
	// bitcoin:bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu?amount=0.00012&label=Invoice%2042
	// BITCOIN:BC1QCR8TE4KR609GCAWUTMRZA0J4XV80JY8Z306FYU?amount=0.00012&label=Invoice%2042
}
