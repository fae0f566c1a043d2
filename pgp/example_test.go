package pgp_test

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/instars/instars/pgp"
)

// The customer seals an order to the server's published key; the server opens it, learns who
// signed it, and seals the credentials back.
func Example() {
	serverKey, err := pgp.GenerateKey(pgp.GenerateOptions{Name: "example server"})
	if err != nil {
		log.Fatal(err)
	}
	server, err := pgp.NewServer(serverKey, pgp.ServerOptions{})
	if err != nil {
		log.Fatal(err)
	}
	customer, err := pgp.GenerateKey(pgp.GenerateOptions{Name: "example customer"})
	if err != nil {
		log.Fatal(err)
	}

	// Customer side: the server's key comes from its web page.
	published, err := pgp.ParsePublicKey(server.PublicKey().Armored(), time.Now())
	if err != nil {
		log.Fatal(err)
	}
	order, err := pgp.SealOrder([]byte(`{"plan":"m1.small"}`), customer, published)
	if err != nil {
		log.Fatal(err)
	}

	// Server side: the customer's public key is sent along with the order.
	sender, err := pgp.ParsePublicKey(customer.PublicKey().Armored(), time.Now())
	if err != nil {
		log.Fatal(err)
	}
	message, err := server.Open(bytes.NewReader(order), sender)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("order %s from the customer: %v\n", message.Payload,
		message.SignerFingerprint == customer.Fingerprint())

	credentials, err := server.SealCredentials([]byte("ssh root@192.0.2.7"), message.Signer)
	if err != nil {
		log.Fatal(err)
	}
	opened, err := pgp.OpenCredentials(bytes.NewReader(credentials), customer, published)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("credentials: %s\n", opened.Payload)

	// An order signed by someone else is rejected with a kind the caller can test.
	stranger, err := pgp.GenerateKey(pgp.GenerateOptions{Name: "stranger"})
	if err != nil {
		log.Fatal(err)
	}
	forged, err := pgp.SealOrder([]byte(`{"plan":"m1.large"}`), stranger, published)
	if err != nil {
		log.Fatal(err)
	}
	_, err = server.Open(bytes.NewReader(forged), sender)
	fmt.Println("forged order rejected as wrong signer:", errors.Is(err, pgp.ErrWrongSigner))
	// Output:
	// order {"plan":"m1.small"} from the customer: true
	// credentials: ssh root@192.0.2.7
	// forged order rejected as wrong signer: true
}
