package bitcoin

import (
	"fmt"
	"strings"
)

// The BIP380 descriptor checksum: a BCH code over the descriptor's characters, written in
// the bech32 alphabet. The input alphabet is ordered in three groups of 32 so that case
// errors and errors within the common characters each cost one symbol.
const (
	descriptorInputCharset = "0123456789()[],'/*abcdefgh@:$%{}" +
		"IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~" +
		"ijklmnopqrstuvwxyzABCDEFGH`#\"\\ "
	descriptorChecksumCharset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	descriptorChecksumLen     = 8
)

var descriptorGenerators = [5]uint64{
	0xf5dee51989, 0xa9fdca3312, 0x1bab10e32d, 0x3706b1677a, 0x644d626ffd,
}

func descriptorPolymod(checksum uint64, symbol uint64) uint64 {
	top := checksum >> 35
	checksum = (checksum&0x7ffffffff)<<5 ^ symbol
	for i, generator := range descriptorGenerators {
		if (top>>i)&1 == 1 {
			checksum ^= generator
		}
	}
	return checksum
}

// descriptorBodyPolymod runs the polymod over the symbols of a descriptor without its
// checksum: each character's position within its group, and after every third character
// one symbol that combines the three group numbers.
func descriptorBodyPolymod(body string) (uint64, error) {
	checksum := uint64(1)
	groups := make([]uint64, 0, 3)
	for i := 0; i < len(body); i++ {
		position := strings.IndexByte(descriptorInputCharset, body[i])
		if position < 0 {
			return 0, fmt.Errorf("%w: descriptor contains %q at byte %d, which is outside "+
				"the descriptor character set", ErrInvalidAccountKey, body[i], i)
		}
		checksum = descriptorPolymod(checksum, uint64(position&31))
		groups = append(groups, uint64(position>>5))
		if len(groups) == 3 {
			checksum = descriptorPolymod(checksum, groups[0]*9+groups[1]*3+groups[2])
			groups = groups[:0]
		}
	}
	switch len(groups) {
	case 1:
		checksum = descriptorPolymod(checksum, groups[0])
	case 2:
		checksum = descriptorPolymod(checksum, groups[0]*3+groups[1])
	}
	return checksum, nil
}

// DescriptorChecksum returns the eight-character BIP380 checksum of a descriptor given
// without one.
func DescriptorChecksum(descriptor string) (string, error) {
	if strings.Contains(descriptor, "#") {
		return "", fmt.Errorf("%w: descriptor already has a checksum after '#'; "+
			"expected the descriptor without one", ErrInvalidAccountKey)
	}
	checksum, err := descriptorBodyPolymod(descriptor)
	if err != nil {
		return "", err
	}
	for range descriptorChecksumLen {
		checksum = descriptorPolymod(checksum, 0)
	}
	checksum ^= 1
	var text [descriptorChecksumLen]byte
	for i := range text {
		text[i] = descriptorChecksumCharset[(checksum>>(5*(7-i)))&31]
	}
	return string(text[:]), nil
}

// AddDescriptorChecksum returns the descriptor followed by '#' and its BIP380 checksum.
func AddDescriptorChecksum(descriptor string) (string, error) {
	checksum, err := DescriptorChecksum(descriptor)
	if err != nil {
		return "", err
	}
	return descriptor + "#" + checksum, nil
}

// verifyDescriptorChecksum checks the checksum that followed '#' against the descriptor
// before it. It does not print the expected checksum: copying it in would hide the typing
// mistake the checksum has just caught.
func verifyDescriptorChecksum(body, checksum string) error {
	if len(checksum) != descriptorChecksumLen {
		return fmt.Errorf("%w: descriptor checksum %q has %d characters, expected %d",
			ErrBadChecksum, checksum, len(checksum), descriptorChecksumLen)
	}
	polymod, err := descriptorBodyPolymod(body)
	if err != nil {
		return err
	}
	for i := 0; i < len(checksum); i++ {
		symbol := strings.IndexByte(descriptorChecksumCharset, checksum[i])
		if symbol < 0 {
			return fmt.Errorf("%w: descriptor checksum %q contains %q, which is not in the "+
				"bech32 alphabet", ErrBadChecksum, checksum, checksum[i])
		}
		polymod = descriptorPolymod(polymod, uint64(symbol))
	}
	if polymod != 1 {
		return fmt.Errorf("%w: descriptor checksum %q does not match the descriptor; "+
			"check the descriptor for a typing or copying mistake", ErrBadChecksum, checksum)
	}
	return nil
}
