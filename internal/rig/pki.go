package rig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PKI is a PKI shaped like the seed's mutual TLS: the server's CA and
// the client's CA are different roots. Dir is laid out as ESP-AT's raw_data
// (--pki): client cert/key #0 signed by the client CA, CA #0 the server's
// root, CA #1 an unrelated root. The server certificate names only
// "esp-server.invalid", so a check of the host name (which the board does
// not make) would fail.
type PKI struct {
	Dir          string
	ServerTLS    *tls.Config // requires a client cert from the client CA
	ClientTLS    *tls.Config // presents the client cert; trusts the server's root
	ServerCert   string      // PEM files for the python server
	ServerKey    string
	ClientCAFile string
}

type certKey struct {
	cert *x509.Certificate
	der  []byte
	key  *ecdsa.PrivateKey
}

func newCert(t *testing.T, tmpl *x509.Certificate, parent *certKey) *certKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Must(t, err)
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	signer, parentCert := key, tmpl
	if parent != nil {
		signer, parentCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, &key.PublicKey, signer)
	Must(t, err)
	c, err := x509.ParseCertificate(der)
	Must(t, err)
	return &certKey{cert: c, der: der, key: key}
}

func newCA(t *testing.T, name string) *certKey {
	return newCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: name}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}, nil)
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	Must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	Must(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
}

func keyDER(t *testing.T, k *ecdsa.PrivateKey) []byte {
	b, err := x509.MarshalPKCS8PrivateKey(k)
	Must(t, err)
	return b
}

// NewPKI makes one in the test's temporary folder.
func NewPKI(t *testing.T) *PKI {
	serverCA := newCA(t, "server root")
	clientCA := newCA(t, "client root")
	otherCA := newCA(t, "unrelated root")
	server := newCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: "esp-server.invalid"}, DNSNames: []string{"esp-server.invalid"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, serverCA)
	client := newCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: "esp32 client"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, clientCA)

	dir := t.TempDir()
	p := &PKI{Dir: filepath.Join(dir, "pki")}
	writePEM(t, filepath.Join(p.Dir, "wss_cert", "wss_client_00.crt"), "CERTIFICATE", client.der)
	writePEM(t, filepath.Join(p.Dir, "wss_key", "wss_client_00.key"), "PRIVATE KEY", keyDER(t, client.key))
	writePEM(t, filepath.Join(p.Dir, "wss_ca", "wss_ca_00.crt"), "CERTIFICATE", serverCA.der)
	writePEM(t, filepath.Join(p.Dir, "wss_ca", "wss_ca_01.crt"), "CERTIFICATE", otherCA.der)
	// Cert #1 without its key, for NO PRVT_KEY FOUND.
	writePEM(t, filepath.Join(p.Dir, "wss_cert", "wss_client_01.crt"), "CERTIFICATE", client.der)

	// The board's own SSL server (AT+CIPSERVER): its certificate, and the
	// CA its clients' certificates must chain to.
	writePEM(t, filepath.Join(p.Dir, "server_cert", "server_cert.crt"), "CERTIFICATE", server.der)
	writePEM(t, filepath.Join(p.Dir, "server_key", "server.key"), "PRIVATE KEY", keyDER(t, server.key))
	writePEM(t, filepath.Join(p.Dir, "server_ca", "server_ca.crt"), "CERTIFICATE", clientCA.der)

	p.ServerCert = filepath.Join(dir, "server.crt")
	p.ServerKey = filepath.Join(dir, "server.key")
	p.ClientCAFile = filepath.Join(dir, "client_ca.crt")
	writePEM(t, p.ServerCert, "CERTIFICATE", server.der)
	writePEM(t, p.ServerKey, "PRIVATE KEY", keyDER(t, server.key))
	writePEM(t, p.ClientCAFile, "CERTIFICATE", clientCA.der)

	pool := x509.NewCertPool()
	pool.AddCert(clientCA.cert)
	p.ServerTLS = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{server.der}, PrivateKey: server.key}},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}
	roots := x509.NewCertPool()
	roots.AddCert(serverCA.cert)
	p.ClientTLS = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{client.der}, PrivateKey: client.key}},
		RootCAs:      roots,
		ServerName:   "esp-server.invalid",
		MinVersion:   tls.VersionTLS12,
	}
	return p
}
