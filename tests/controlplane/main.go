// Command controlplane runs a real Kubernetes control plane for npd's tests and demos:
// the official kube-apiserver (k8s.io/kubernetes/cmd/kube-apiserver/app) on an embedded
// etcd (go.etcd.io/etcd/server/v3/embed), both on loopback ports chosen at first start.
//
// It is a multi-call binary:
//
//	controlplane serve --dir DIR     run etcd + kube-apiserver until SIGTERM/SIGINT
//	controlplane kubectl ARGS...     the official kubectl (also when invoked as "kubectl")
//	controlplane version             print the Kubernetes version it was built from
//
// serve keeps all state in DIR: certificates, the token file, the service-account key,
// the chosen ports (state.json) and the etcd data. Starting it again on the same DIR reuses
// all of them, so clients keep working across a stop/start (outage tests). Once /readyz
// answers ok it writes DIR/admin.kubeconfig, DIR/npd.kubeconfig and then DIR/ready.
// See README.md.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/component-base/version"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserverapp "k8s.io/kubernetes/cmd/kube-apiserver/app"
)

// Identities in the static token file.
const (
	adminUser = "admin"
	// npd runs as this ServiceAccount in deploy/; a token-file user with the same name is
	// matched by RBAC subjects {kind: ServiceAccount, namespace: kube-system,
	// name: node-problem-detector}.
	npdUser   = "system:serviceaccount:kube-system:node-problem-detector"
	npdGroups = "system:serviceaccounts,system:serviceaccounts:kube-system"
)

type state struct {
	APIServerPort  int    `json:"apiserverPort"`
	EtcdClientPort int    `json:"etcdClientPort"`
	EtcdPeerPort   int    `json:"etcdPeerPort"`
	AdminToken     string `json:"adminToken"`
	NPDToken       string `json:"npdToken"`
}

func main() {
	name := filepath.Base(os.Args[0])
	if name == "kubectl" {
		os.Exit(runKubectl(os.Args))
	}
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "serve":
		if err := serve(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "controlplane:", err)
			os.Exit(1)
		}
	case "kubectl":
		os.Exit(runKubectl(append([]string{"kubectl"}, os.Args[2:]...)))
	case "version":
		fmt.Println(version.Get().GitVersion)
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: controlplane serve --dir DIR | controlplane kubectl ARGS... | controlplane version")
	os.Exit(2)
}

func runKubectl(args []string) int {
	os.Args = args
	logs.GlogSetter(kubectlcmd.GetLogVerbosity(os.Args)) // nolint:errcheck
	command := kubectlcmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		kubectlutil.CheckErr(err) // exits
	}
	return 0
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	dir := fs.String("dir", "", "state directory (created if missing)")
	verbosity := fs.Int("v", 0, "kube-apiserver log verbosity")
	fs.Parse(args) // nolint:errcheck
	if *dir == "" {
		return errors.New("serve: --dir is required")
	}
	d, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	pki := filepath.Join(d, "pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return err
	}
	os.Remove(filepath.Join(d, "ready"))

	st, err := loadOrCreateState(d)
	if err != nil {
		return err
	}
	if err := ensurePKI(pki); err != nil {
		return err
	}
	// CSV: token,user,uid,"group1,group2" (system:authenticated is added by the apiserver).
	tokens := fmt.Sprintf("%s,%s,admin-uid,system:masters\n%s,%s,npd-uid,\"%s\"\n",
		st.AdminToken, adminUser, st.NPDToken, npdUser, npdGroups)
	if err := os.WriteFile(filepath.Join(pki, "tokens.csv"), []byte(tokens), 0o600); err != nil {
		return err
	}

	// Embedded etcd.
	etcdDir := filepath.Join(d, "etcd")
	if err := os.MkdirAll(etcdDir, 0o700); err != nil {
		return err
	}
	os.Chmod(etcdDir, 0o700) // nolint:errcheck
	cfg := embed.NewConfig()
	cfg.Name = "controlplane"
	cfg.Dir = etcdDir
	cu := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(st.EtcdClientPort))}
	pu := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(st.EtcdPeerPort))}
	cfg.ListenClientUrls = []url.URL{cu}
	cfg.AdvertiseClientUrls = []url.URL{cu}
	cfg.ListenPeerUrls = []url.URL{pu}
	cfg.AdvertisePeerUrls = []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "error"
	cfg.UnsafeNoFsync = true // test-only: no durability needed
	cfg.QuotaBackendBytes = 1 << 30
	etcd, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("start etcd: %w", err)
	}
	defer etcd.Close()
	select {
	case <-etcd.Server.ReadyNotify():
	case err := <-etcd.Err():
		return fmt.Errorf("etcd: %w", err)
	case <-time.After(60 * time.Second):
		return errors.New("etcd did not become ready within 60s")
	}
	go func() {
		if err, ok := <-etcd.Err(); ok && err != nil {
			fmt.Fprintln(os.Stderr, "controlplane: etcd error:", err)
			os.Exit(1)
		}
	}()

	server := fmt.Sprintf("https://127.0.0.1:%d", st.APIServerPort)
	caFile := filepath.Join(pki, "ca.crt")
	go waitReadyAndPublish(d, server, caFile, st)

	// k8s: NewAPIServerCommand calls SetupSignalContext, which may only run once per process.
	cmd := apiserverapp.NewAPIServerCommand()
	cmd.SetArgs([]string{
		"--etcd-servers=" + cu.String(),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(st.APIServerPort),
		"--cert-dir=" + pki,
		"--tls-cert-file=" + filepath.Join(pki, "apiserver.crt"),
		"--tls-private-key-file=" + filepath.Join(pki, "apiserver.key"),
		"--client-ca-file=" + caFile,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--token-auth-file=" + filepath.Join(pki, "tokens.csv"),
		"--anonymous-auth=false",
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + filepath.Join(pki, "sa.key"),
		"--service-account-signing-key-file=" + filepath.Join(pki, "sa.key"),
		"--disable-admission-plugins=ServiceAccount",
		"--allow-privileged=true",
		"--v=" + strconv.Itoa(*verbosity),
	})
	code := cli.Run(cmd)
	etcd.Close()
	os.Remove(filepath.Join(d, "ready"))
	if code != 0 {
		return fmt.Errorf("kube-apiserver exited with code %d", code)
	}
	return nil
}

func loadOrCreateState(d string) (*state, error) {
	p := filepath.Join(d, "state.json")
	var st state
	if b, err := os.ReadFile(p); err == nil {
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		return &st, nil
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	st = state{APIServerPort: ports[0], EtcdClientPort: ports[1], EtcdPeerPort: ports[2],
		AdminToken: randHex(24), NPDToken: randHex(24)}
	b, _ := json.MarshalIndent(&st, "", "  ")
	if err := os.WriteFile(p, append(b, '\n'), 0o600); err != nil {
		return nil, err
	}
	return &st, nil
}

// freePorts listens on n loopback ports at once (so they differ), then closes them.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// ensurePKI creates (once) a CA, a serving certificate for 127.0.0.1/localhost/the
// kubernetes service names signed by it, and the service-account signing key.
func ensurePKI(pki string) error {
	caCrt, caKey := filepath.Join(pki, "ca.crt"), filepath.Join(pki, "ca.key")
	srvCrt, srvKey := filepath.Join(pki, "apiserver.crt"), filepath.Join(pki, "apiserver.key")
	saKey := filepath.Join(pki, "sa.key")
	if exists(caCrt) && exists(caKey) && exists(srvCrt) && exists(srvKey) && exists(saKey) {
		return nil
	}
	now := time.Now().Add(-time.Hour)
	ca, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "npd-test-controlplane-ca"},
		NotBefore:             now,
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &ca.PublicKey, ca)
	if err != nil {
		return err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now,
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1"), net.ParseIP("10.0.0.1")},
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local"},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srv.PublicKey, ca)
	if err != nil {
		return err
	}
	sa, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	for _, w := range []struct {
		path string
		typ  string
		der  []byte
	}{
		{caCrt, "CERTIFICATE", caDER},
		{srvCrt, "CERTIFICATE", srvDER},
	} {
		if err := writePEM(w.path, w.typ, w.der, 0o644); err != nil {
			return err
		}
	}
	for _, k := range []struct {
		path string
		key  *ecdsa.PrivateKey
	}{{caKey, ca}, {srvKey, srv}, {saKey, sa}} {
		der, err := x509.MarshalECPrivateKey(k.key)
		if err != nil {
			return err
		}
		if err := writePEM(k.path, "EC PRIVATE KEY", der, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// waitReadyAndPublish polls /readyz; once ok, writes the kubeconfigs, then DIR/ready.
func waitReadyAndPublish(d, server, caFile string, st *state) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "controlplane:", err)
		return
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
	for {
		req, _ := http.NewRequest("GET", server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+st.AdminToken)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, k := range []struct{ file, user, token string }{
		{"admin.kubeconfig", "admin", st.AdminToken},
		{"npd.kubeconfig", "node-problem-detector", st.NPDToken},
	} {
		if err := writeKubeconfig(filepath.Join(d, k.file), server, caFile, k.user, k.token); err != nil {
			fmt.Fprintln(os.Stderr, "controlplane:", err)
			return
		}
	}
	info := fmt.Sprintf("{\"server\": %q, \"pid\": %d, \"version\": %q}\n", server, os.Getpid(), version.Get().GitVersion)
	if err := os.WriteFile(filepath.Join(d, "ready"), []byte(info), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "controlplane:", err)
	}
	fmt.Fprintf(os.Stderr, "controlplane: ready at %s (dir %s)\n", server, d)
}

func writeKubeconfig(path, server, caFile, user, token string) error {
	// JSON is valid YAML; kubectl, client-go and lightkube all read it.
	kc := map[string]any{
		"apiVersion": "v1",
		"kind":       "Config",
		"clusters": []any{map[string]any{"name": "npd-test", "cluster": map[string]any{
			"server": server, "certificate-authority": caFile}}},
		"users": []any{map[string]any{"name": user, "user": map[string]any{"token": token}}},
		"contexts": []any{map[string]any{"name": "npd-test", "context": map[string]any{
			"cluster": "npd-test", "user": user}}},
		"current-context": "npd-test",
	}
	b, _ := json.MarshalIndent(kc, "", "  ")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
