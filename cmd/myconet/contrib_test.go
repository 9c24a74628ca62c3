package main_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestSystemdUnit checks contrib/systemd/myconet.service: the hardening
// the README promises, and `systemd-analyze verify` with no complaint about
// the unit (it only warns, exit 0, on unknown or malformed keys).
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile(filepath.Join("..", "..", "contrib", "systemd", "myconet.service"))
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(string(unit), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, want := range []string{
		"User=myconet", "Group=myconet", "StateDirectory=myconet", "StateDirectoryMode=0750",
		"AmbientCapabilities=CAP_NET_ADMIN", "CapabilityBoundingSet=CAP_NET_ADMIN",
		"NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
		"DeviceAllow=/dev/net/tun rw", "Environment=MYCONET_HOME=/var/lib/myconet",
		"ExecStart=/usr/local/bin/myconet daemon --group-access --log-format json",
	} {
		if !lines[want] {
			t.Errorf("unit lacks %q", want)
		}
	}
	sysusers, err := os.ReadFile(filepath.Join("..", "..", "contrib", "systemd", "myconet.sysusers"))
	if err != nil || !strings.Contains(string(sysusers), "\nu myconet - ") {
		t.Errorf("sysusers file: %v\n%s", err, sysusers)
	}
	// The flags the unit passes exist.
	u := newUser(t)
	help := u.ok("help", "daemon")
	for _, f := range []string{"--group-access", "--log-format"} {
		if !strings.Contains(help, f) {
			t.Errorf("daemon has no %s flag", f)
		}
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("no systemd-analyze here: the unit is checked by its key lines only")
	}
	path := filepath.Join(t.TempDir(), "myconet.service")
	os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/myconet", bin)), 0o644)
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "myconet.service") {
			t.Errorf("systemd-analyze: %s", sc.Text())
		}
	}
}

// TestDockerfile lints the Dockerfile without a Docker engine: two stages,
// a static (CGO_ENABLED=0) build, a final stage that runs as a non-root
// user with the home on a volume, exec-form ENTRYPOINT and CMD whose flags
// the daemon has. hadolint runs too when it is installed.
func TestDockerfile(t *testing.T) {
	path := filepath.Join("..", "..", "Dockerfile")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type instr struct{ op, args string }
	var ins []instr
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		op, args, _ := strings.Cut(l, " ")
		if op != strings.ToUpper(op) || !slices.Contains([]string{"FROM", "RUN", "COPY", "ARG", "ENV", "USER", "WORKDIR", "VOLUME", "EXPOSE", "ENTRYPOINT", "CMD", "LABEL", "HEALTHCHECK"}, op) {
			t.Errorf("unknown instruction %q", l)
		}
		ins = append(ins, instr{op, strings.TrimSpace(args)})
	}
	var stages []string
	final := 0
	for i, in := range ins {
		if in.op == "FROM" {
			if f := strings.Fields(in.args); len(f) == 3 && strings.EqualFold(f[1], "AS") {
				stages = append(stages, f[2])
			}
			final = i
		}
	}
	if len(stages) < 1 || final == 0 {
		t.Fatalf("not a multi-stage build: stages %q", stages)
	}
	fromRef := regexp.MustCompile(`--from=(\S+)`)
	var built, user, volume, home, entry, cmd string
	for i, in := range ins {
		switch in.op {
		case "RUN":
			if strings.Contains(in.args, "go build") {
				built = in.args
			}
		case "COPY":
			if m := fromRef.FindStringSubmatch(in.args); m != nil && !slices.Contains(stages, m[1]) {
				t.Errorf("COPY from unknown stage %q", m[1])
			}
		}
		if i < final {
			continue
		}
		switch in.op {
		case "USER":
			user = in.args
		case "VOLUME":
			volume = in.args
		case "ENV":
			if v, ok := strings.CutPrefix(in.args, "MYCONET_HOME="); ok {
				home = v
			}
		case "ENTRYPOINT":
			entry = in.args
		case "CMD":
			cmd = in.args
		}
	}
	if !strings.Contains(built, "CGO_ENABLED=0") || !strings.Contains(built, "-trimpath") {
		t.Errorf("the build is not static and trimmed: %q", built)
	}
	if uid, _, _ := strings.Cut(user, ":"); user == "" || uid == "0" || uid == "root" {
		t.Errorf("the final stage runs as %q, want a non-root user", user)
	}
	var vols []string
	if err := json.Unmarshal([]byte(volume), &vols); err != nil || home == "" || !slices.Contains(vols, home) {
		t.Errorf("VOLUME %q does not hold MYCONET_HOME %q (%v)", volume, home, err)
	}
	var ep, args []string
	if err := json.Unmarshal([]byte(entry), &ep); err != nil || len(ep) != 1 || !strings.HasSuffix(ep[0], "/myconet") {
		t.Errorf("ENTRYPOINT %q: want the exec form running myconet (%v)", entry, err)
	}
	if err := json.Unmarshal([]byte(cmd), &args); err != nil || len(args) == 0 || args[0] != "daemon" {
		t.Fatalf("CMD %q: want the exec form of daemon (%v)", cmd, err)
	}
	u := newUser(t)
	help := u.ok("help", "daemon")
	for _, a := range args[1:] {
		if strings.HasPrefix(a, "--") && !strings.Contains(help, a+" ") {
			t.Errorf("CMD passes %s, which daemon does not have", a)
		}
	}
	if _, err := exec.LookPath("hadolint"); err == nil {
		if out, err := exec.Command("hadolint", path).CombinedOutput(); err != nil {
			t.Errorf("hadolint: %v\n%s", err, out)
		}
	}
}
