package esp

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// PKI files, named as in ESP-AT's components/customized_partitions/raw_data
// (NN is the two-digit pki_number or ca_number of AT+WSCFG).
func pkiCertPath(dir string, n int) string {
	return filepath.Join(dir, "wss_cert", fmt.Sprintf("wss_client_%02d.crt", n))
}
func pkiKeyPath(dir string, n int) string {
	return filepath.Join(dir, "wss_key", fmt.Sprintf("wss_client_%02d.key", n))
}
func pkiCAPath(dir string, n int) string {
	return filepath.Join(dir, "wss_ca", fmt.Sprintf("wss_ca_%02d.crt", n))
}

// loadClientCert reads client certificate and key number n. A missing file
// gives the firmware's message ("NO CERT FOUND\r\n" or "NO PRVT_KEY
// FOUND\r\n"); files that are present but do not form a key pair give err
// with no message (the firmware would fail later, at the TLS handshake; the
// emulator refuses early and says why in its log).
func (e *Emulator) loadClientCert(n int) (*tls.Certificate, string, error) {
	if e.opts.PKIDir == "" {
		return nil, "NO CERT FOUND\r\n", errors.New("no --pki folder")
	}
	certPEM, err := os.ReadFile(pkiCertPath(e.opts.PKIDir, n))
	if err != nil {
		return nil, "NO CERT FOUND\r\n", err
	}
	keyPEM, err := os.ReadFile(pkiKeyPath(e.opts.PKIDir, n))
	if err != nil {
		return nil, "NO PRVT_KEY FOUND\r\n", err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, "", fmt.Errorf("client certificate %02d: %w", n, err)
	}
	return &cert, "", nil
}

// loadCA reads CA number n.
func (e *Emulator) loadCA(n int) ([]byte, error) {
	if e.opts.PKIDir == "" {
		return nil, errors.New("no --pki folder")
	}
	b, err := os.ReadFile(pkiCAPath(e.opts.PKIDir, n))
	if err != nil {
		return nil, err
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", pkiCAPath(e.opts.PKIDir, n))
	}
	return b, nil
}

// tlsConfig builds the client TLS settings of a wss:// link as the board
// has them: the client certificate when auth_mode bit 0 is set; with bit 1
// the server chain is verified against the CA but the host name is not
// (skip_cert_common_name_check); without it nothing is verified.
func (cfg *wsConfig) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	if cfg.clientCert != nil {
		tc.Certificates = []tls.Certificate{*cfg.clientCert}
	}
	if cfg.caPEM != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cfg.caPEM) {
			return nil, errors.New("CA holds no certificate")
		}
		tc.VerifyPeerCertificate = verifyChain(pool, "", "server")
	}
	return tc, nil
}

// verifyChain checks the peer's chain against roots as mbedTLS does for a
// board with a CA configured: the chain must lead to roots; the host name
// is checked only when name is set (AT+CIPSSLCCN). peer names the other
// side in errors ("server", "broker").
func verifyChain(roots *x509.CertPool, name, peer string) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return errors.New("the " + peer + " sent no certificate")
		}
		inter := x509.NewCertPool()
		var leaf *x509.Certificate
		for i, r := range raw {
			c, err := x509.ParseCertificate(r)
			if err != nil {
				return err
			}
			if i == 0 {
				leaf = c
			} else {
				inter.AddCert(c)
			}
		}
		_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: name})
		return err
	}
}
