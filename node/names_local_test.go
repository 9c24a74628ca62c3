package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/names"
	"github.com/myconet/myconet/node/namesvc"
	"github.com/myconet/myconet/node/nodetest"
)

// TestNames: petnames, peer-ID names and names nodes publish for themselves
// resolve through the API and through the daemon's DNS server; a record
// forged under another node's key is refused. Issue 15 §3.
func TestNames(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 3, nodetest.Options{Override: func(i int, fc *config.FileConfig) {
		if i == 0 {
			fc.Overlay.DNS = "127.0.0.1:0"
		}
	}})
	net.ConnectChain()
	a, b, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	ctx := context.Background()
	bID, bAddr := b.Identity().PeerID, b.Identity().Address.String()

	// Petnames.
	if _, err := a.NameSet(ctx, "Laptop", bID.String()); err != nil { // folded to laptop
		t.Fatal(err)
	}
	if _, err := a.NameSet(ctx, "printer", c.Identity().Address.String()); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][2]string{{"bad_name", bID.String()}, {"x", "10.0.0.1"}, {"x", "2001:db8::1"}, {"x", "nobody"}, {strings.ToLower(namesvc.PeerDNSLabel(bID)), bID.String()}} {
		if _, err := a.NameSet(ctx, bad[0], bad[1]); apitype.CodeOf(err) != apitype.CodeInvalid {
			t.Errorf("NameSet(%q, %q): %v, want invalid", bad[0], bad[1], err)
		}
	}
	resolve := func(name, want, kind string) {
		t.Helper()
		got, err := a.NameResolve(ctx, name)
		if err != nil || got.Addr != want || got.Kind != kind {
			t.Fatalf("resolve %s: %+v, %v; want %s (%s)", name, got, err, want, kind)
		}
	}
	resolve("laptop.myco", bAddr, "petname")
	resolve("LAPTOP.myco.", bAddr, "petname")
	resolve("printer", c.Identity().Address.String(), "petname")
	resolve(bID.String()+".myco", bAddr, "peer")
	resolve(strings.ToUpper(namesvc.PeerDNSLabel(bID))+".myco", bAddr, "peer")
	if _, err := a.NameResolve(ctx, "nobody.myco"); apitype.CodeOf(err) != apitype.CodeNotFound {
		t.Fatalf("unknown name: %v", err)
	}

	// A name B publishes for itself, resolved by A directly and through a petname.
	// (The DHT adds a connected peer to its table a moment later: publishing
	// at once failed with "failed to find any peer in table" under load.)
	net.Eventually(30*time.Second, "B's DHT routing table", func() bool { return b.RoutingTableSize() > 0 })
	pub, err := b.NamePublish(ctx, "www", "")
	if err != nil {
		t.Fatal(err)
	}
	if pub.Addr != bAddr || !strings.HasPrefix(pub.FQDN, "www."+namesvc.PeerDNSLabel(bID)) {
		t.Fatalf("published %+v", pub)
	}
	resolve("www."+namesvc.PeerDNSLabel(bID)+".myco", bAddr, "record")
	resolve("www.laptop.myco", bAddr, "record")
	// B points "mail" at C's address, then moves it to its own: the newer wins.
	if _, err := b.NamePublish(ctx, "mail", c.Identity().Address.String()); err != nil {
		t.Fatal(err)
	}
	resolve("mail."+bID.String()+".myco", c.Identity().Address.String(), "record")
	if _, err := b.NamePublish(ctx, "mail", bAddr); err != nil {
		t.Fatal(err)
	}
	resolve("mail."+bID.String()+".myco", bAddr, "record")

	// C forges B's "www": signed by C under B's key, or B's record for
	// "www" filed as "admin". The DHT refuses both; the name still
	// resolves to B.
	forged, _ := names.NewHostRecord(c.Identity().Priv, "www", c.Identity().Address, 99, time.Now(), time.Hour)
	fb, _ := forged.Encode()
	if err := node.DHTOf(c).PutValue(ctx, names.HostKey(bID, "www"), fb); err == nil {
		t.Fatal("a record signed by C stored under B's name")
	}
	real, _ := node.DHTOf(a).GetValue(ctx, names.HostKey(bID, "www"))
	if err := node.DHTOf(c).PutValue(ctx, names.HostKey(bID, "admin"), real); err == nil {
		t.Fatal("B's www record stored as admin")
	}
	resolve("www."+bID.String()+".myco", bAddr, "record")
	if _, err := a.NameResolve(ctx, "admin."+bID.String()+".myco"); apitype.CodeOf(err) != apitype.CodeNotFound {
		t.Fatalf("admin: %v", err)
	}

	// The same through A's DNS server.
	info, err := a.Names(ctx)
	if err != nil || info.DNS == "" || len(info.Petnames) != 2 || info.Setup == "" {
		t.Fatalf("names %+v %v", info, err)
	}
	ask := func(name string) *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeAAAA)
		r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, info.DNS)
		if err != nil {
			t.Fatalf("dns %s: %v", name, err)
		}
		return r
	}
	for _, name := range []string{"laptop.myco.", bID.String() + ".myco.", "www." + namesvc.PeerDNSLabel(bID) + ".myco."} {
		r := ask(name)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*dns.AAAA).AAAA.String() != bAddr {
			t.Fatalf("dns %s: %v", name, r)
		}
	}
	if r := ask("nobody.myco."); r.Rcode != dns.RcodeNameError {
		t.Fatalf("dns unknown: %v", r)
	}

	if err := a.NameRm(ctx, "laptop"); err != nil {
		t.Fatal(err)
	}
	if err := a.NameRm(ctx, "laptop"); apitype.CodeOf(err) != apitype.CodeNotFound {
		t.Fatalf("removing twice: %v", err)
	}
	if r := ask("laptop.myco."); r.Rcode != dns.RcodeNameError {
		t.Fatalf("dns of a removed petname: %v", r)
	}
}
