package ec2emu_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/crypto/ssh"
)

// Fingerprints of the keys in testdata, computed by OpenSSH 9 and OpenSSL 3:
//
//	ssh-keygen -e -m PKCS8 -f rsa2048.pub | openssl pkey -pubin -outform DER | openssl md5 -c
//	ssh-keygen -l -E sha256 -f ed25519.pub   (plus the base64 padding EC2 keeps)
var importedKeyFingerprints = []struct {
	file, keyType, fingerprint string
}{
	{"testdata/rsa2048.pub", "rsa", "b6:87:dd:3b:e5:79:51:5f:1f:70:a7:1e:1d:c5:9f:03"},
	{"testdata/ed25519.pub", "ed25519", "3jiX93E6AUxZjxptrpRi912sbxUY1nR4kLP7S8SUVOI="},
}

func TestImportKeyPairFingerprints(t *testing.T) {
	b := setup(t)
	for _, tc := range importedKeyFingerprints {
		material, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		out, err := b.client.ImportKeyPair(ctx(t), &ec2.ImportKeyPairInput{
			KeyName:           aws.String(tc.keyType),
			PublicKeyMaterial: material,
		})
		if err != nil {
			t.Fatalf("ImportKeyPair %s: %v", tc.file, err)
		}
		if got := aws.ToString(out.KeyFingerprint); got != tc.fingerprint {
			t.Errorf("%s fingerprint = %s, want %s", tc.file, got, tc.fingerprint)
		}
		desc, err := b.client.DescribeKeyPairs(ctx(t), &ec2.DescribeKeyPairsInput{
			KeyNames: []string{tc.keyType},
		})
		if err != nil {
			t.Fatalf("DescribeKeyPairs: %v", err)
		}
		if len(desc.KeyPairs) != 1 {
			t.Fatalf("DescribeKeyPairs returned %d key pairs, want 1", len(desc.KeyPairs))
		}
		if got := string(desc.KeyPairs[0].KeyType); got != tc.keyType {
			t.Errorf("%s key type = %s, want %s", tc.file, got, tc.keyType)
		}
		if got := aws.ToString(desc.KeyPairs[0].KeyFingerprint); got != tc.fingerprint {
			t.Errorf("%s described fingerprint = %s, want %s", tc.file, got, tc.fingerprint)
		}
	}
}

func TestImportKeyPairErrors(t *testing.T) {
	b := setup(t)
	key := newSSHKey(t)
	_, err := b.client.ImportKeyPair(ctx(t), &ec2.ImportKeyPairInput{
		KeyName: aws.String("dup"), PublicKeyMaterial: []byte(key),
	})
	if err != nil {
		t.Fatalf("first ImportKeyPair: %v", err)
	}
	_, err = b.client.ImportKeyPair(ctx(t), &ec2.ImportKeyPairInput{
		KeyName: aws.String("dup"), PublicKeyMaterial: []byte(newSSHKey(t)),
	})
	requireAPIError(t, err, "InvalidKeyPair.Duplicate")

	_, err = b.client.ImportKeyPair(ctx(t), &ec2.ImportKeyPairInput{
		KeyName: aws.String("garbage"), PublicKeyMaterial: []byte("ssh-rsa notakey"),
	})
	requireAPIError(t, err, "InvalidKey.Format")

	ecdsaKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshECDSA, err := ssh.NewPublicKey(&ecdsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.client.ImportKeyPair(ctx(t), &ec2.ImportKeyPairInput{
		KeyName: aws.String("ecdsa"), PublicKeyMaterial: ssh.MarshalAuthorizedKey(sshECDSA),
	})
	requireAPIError(t, err, "InvalidKey.Format")

	privatePEM, err := ssh.MarshalPrivateKey(ecdsaKey, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.client.ImportKeyPair(ctx(t), &ec2.ImportKeyPairInput{
		KeyName: aws.String("private"), PublicKeyMaterial: pem.EncodeToMemory(privatePEM),
	})
	requireAPIError(t, err, "InvalidKey.Format")

	resp := b.rawCall(t, url.Values{"Action": {"ImportKeyPair"}, "KeyName": {"no-material"}})
	resp.requireError(t, http.StatusBadRequest, "MissingParameter")

	if got := len(b.emu.KeyPairs()); got != 1 {
		t.Errorf("key pairs after rejected imports = %d, want 1", got)
	}
}

func TestDescribeKeyPairs(t *testing.T) {
	b := setup(t)
	for _, name := range []string{"alpha", "beta"} {
		_, err := b.client.ImportKeyPair(ctx(t), &ec2.ImportKeyPairInput{
			KeyName: aws.String(name), PublicKeyMaterial: []byte(newSSHKey(t)),
			TagSpecifications: []types.TagSpecification{{
				ResourceType: types.ResourceTypeKeyPair,
				Tags:         []types.Tag{{Key: aws.String("owner"), Value: aws.String(name)}},
			}},
		})
		if err != nil {
			t.Fatalf("ImportKeyPair %s: %v", name, err)
		}
	}

	all, err := b.client.DescribeKeyPairs(ctx(t), &ec2.DescribeKeyPairsInput{})
	if err != nil {
		t.Fatalf("DescribeKeyPairs: %v", err)
	}
	if len(all.KeyPairs) != 2 {
		t.Errorf("DescribeKeyPairs returned %d key pairs, want 2", len(all.KeyPairs))
	}

	byTag, err := b.client.DescribeKeyPairs(ctx(t), &ec2.DescribeKeyPairsInput{
		Filters: []types.Filter{{Name: aws.String("tag:owner"), Values: []string{"b*"}}},
	})
	if err != nil {
		t.Fatalf("DescribeKeyPairs by tag: %v", err)
	}
	if len(byTag.KeyPairs) != 1 || aws.ToString(byTag.KeyPairs[0].KeyName) != "beta" {
		t.Errorf("DescribeKeyPairs tag:owner=b* returned %+v, want beta only", byTag.KeyPairs)
	}

	withKey, err := b.client.DescribeKeyPairs(ctx(t), &ec2.DescribeKeyPairsInput{
		KeyNames: []string{"alpha"}, IncludePublicKey: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("DescribeKeyPairs IncludePublicKey: %v", err)
	}
	if aws.ToString(withKey.KeyPairs[0].PublicKey) == "" {
		t.Errorf("DescribeKeyPairs IncludePublicKey returned no public key")
	}

	_, err = b.client.DescribeKeyPairs(ctx(t), &ec2.DescribeKeyPairsInput{
		KeyNames: []string{"gamma"},
	})
	requireAPIError(t, err, "InvalidKeyPair.NotFound")
}

func TestDeleteKeyPairIdempotent(t *testing.T) {
	b := setup(t)
	imported, err := b.client.ImportKeyPair(ctx(t), &ec2.ImportKeyPairInput{
		KeyName: aws.String("gone"), PublicKeyMaterial: []byte(newSSHKey(t)),
	})
	if err != nil {
		t.Fatalf("ImportKeyPair: %v", err)
	}
	for attempt := range 2 {
		out, err := b.client.DeleteKeyPair(ctx(t), &ec2.DeleteKeyPairInput{
			KeyName: aws.String("gone"),
		})
		if err != nil {
			t.Fatalf("DeleteKeyPair attempt %d: %v", attempt+1, err)
		}
		if !aws.ToBool(out.Return) {
			t.Errorf("DeleteKeyPair attempt %d returned false", attempt+1)
		}
	}
	if got := len(b.emu.KeyPairs()); got != 0 {
		t.Errorf("key pairs after delete = %d, want 0", got)
	}
	_, err = b.client.DeleteKeyPair(ctx(t), &ec2.DeleteKeyPairInput{
		KeyPairId: imported.KeyPairId,
	})
	requireAPIError(t, err, "InvalidKeyPair.NotFound")
	_, err = b.client.DescribeKeyPairs(ctx(t), &ec2.DescribeKeyPairsInput{
		KeyNames: []string{"gone"},
	})
	requireAPIError(t, err, "InvalidKeyPair.NotFound")
}
