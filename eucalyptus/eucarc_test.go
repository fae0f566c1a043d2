package eucalyptus

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// eucalyptus4Eucarc is shaped like the eucarc a Eucalyptus 4 cloud hands out with a credentials
// zip: a computed key folder, quoted keys, aliases and an echo.
const eucalyptus4Eucarc = `EUCA_KEY_DIR=$(cd $(dirname ${BASH_SOURCE:-$0}); pwd -P)
export EC2_URL=http://10.111.1.11:8773/services/compute
export S3_URL=http://10.111.1.11:8773/services/objectstorage
export EC2_PRIVATE_KEY=${EUCA_KEY_DIR}/euca2-admin-6a43b5f3-pk.pem
export EC2_CERT=${EUCA_KEY_DIR}/euca2-admin-6a43b5f3-cert.pem
export EUCALYPTUS_CERT=${EUCA_KEY_DIR}/cloud-cert.pem
export EC2_ACCOUNT_NUMBER='000123456789'
export EC2_ACCESS_KEY='AKIEUCA4EXAMPLE'
export EC2_SECRET_KEY='s3cr3t/with+slash'
export AWS_ACCESS_KEY="$EC2_ACCESS_KEY"
export AWS_SECRET_KEY="${EC2_SECRET_KEY}"
alias ec2-bundle-image="ec2-bundle-image --cert ${EC2_CERT} --ec2cert ${EUCALYPTUS_CERT}"
echo WARN: the bundling tools need EC2_CERT
`

func TestParseEucarc(t *testing.T) {
	t.Setenv("INSTARS_TEST_HOME", "/home/operator")
	tests := []struct {
		name       string
		text       string
		want       map[string]string
		absent     []string
		unresolved []string
	}{
		{
			name: "eucalyptus 4 credentials",
			text: eucalyptus4Eucarc,
			want: map[string]string{
				"EUCA_KEY_DIR":    "/creds",
				"EC2_URL":         "http://10.111.1.11:8773/services/compute",
				"EUCALYPTUS_CERT": "/creds/cloud-cert.pem",
				"EC2_ACCESS_KEY":  "AKIEUCA4EXAMPLE",
				"EC2_SECRET_KEY":  "s3cr3t/with+slash",
				"AWS_ACCESS_KEY":  "AKIEUCA4EXAMPLE",
				"AWS_SECRET_KEY":  "s3cr3t/with+slash",
			},
			absent: []string{"ec2-bundle-image", "WARN:"},
		},
		{
			name: "byte order mark and CRLF line ends from a Windows editor",
			text: "\ufeffexport EC2_URL=https://cloud:8773/\r\nexport EC2_ACCESS_KEY='AK'\r\n",
			want: map[string]string{"EC2_URL": "https://cloud:8773/", "EC2_ACCESS_KEY": "AK"},
		},
		{
			name: "plain assignments without export",
			text: "EC2_URL=https://cloud:8773/\nAWS_DEFAULT_REGION=eucalyptus\n",
			want: map[string]string{
				"EC2_URL": "https://cloud:8773/", "AWS_DEFAULT_REGION": "eucalyptus",
			},
		},
		{
			name:   "several assignments and commands on one line",
			text:   "export A=1 B=two; C=3 && export D=4 # E=5\n",
			want:   map[string]string{"A": "1", "B": "two", "C": "3", "D": "4"},
			absent: []string{"E"},
		},
		{
			name: "quotes and escapes",
			text: `A='single $HOME "kept"'
B="double \"quoted\" \$literal"
C=unquoted\ space
D='it'"'"'s'
`,
			want: map[string]string{
				"A": `single $HOME "kept"`,
				"B": `double "quoted" $literal`,
				"C": "unquoted space",
				"D": "it's",
			},
		},
		{
			name: "line continuation",
			text: "export EC2_URL=http://cloud:8773/\\\nservices/compute\n",
			want: map[string]string{"EC2_URL": "http://cloud:8773/services/compute"},
		},
		{
			name: "expansion from the environment and defaults",
			text: "A=$INSTARS_TEST_HOME/.euca\nB=${INSTARS_TEST_UNSET:-fallback}\n" +
				"C=${A-unused}\nD=${INSTARS_TEST_UNSET}x\n",
			want: map[string]string{
				"A": "/home/operator/.euca", "B": "fallback", "C": "/home/operator/.euca",
				"D": "x",
			},
		},
		{
			name:       "command substitution is not run",
			text:       "export EC2_URL=$(cat /etc/ec2-url)\nexport TOKEN=`date`\nOK=1\n",
			want:       map[string]string{"OK": "1"},
			absent:     []string{"EC2_URL", "TOKEN"},
			unresolved: []string{"EC2_URL", "TOKEN"},
		},
		{
			name:   "assignment prefixing a command lasts only for it",
			text:   "A=1 some-command\nexport B\n",
			absent: []string{"A", "B"},
		},
		{
			name: "later assignment wins",
			text: "A=1\nA=2\n",
			want: map[string]string{"A": "2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, err := ParseEucarc(strings.NewReader(tt.text), "/creds")
			if err != nil {
				t.Fatalf("ParseEucarc: %v", err)
			}
			for name, want := range tt.want {
				if got, ok := rc.Vars[name]; !ok || got != want {
					t.Errorf("%s = %q (set %v), want %q", name, got, ok, want)
				}
			}
			for _, name := range tt.absent {
				if got, ok := rc.Vars[name]; ok {
					t.Errorf("%s = %q, want unset", name, got)
				}
			}
			if !slices.Equal(rc.Unresolved, tt.unresolved) {
				t.Errorf("Unresolved = %v, want %v", rc.Unresolved, tt.unresolved)
			}
		})
	}
}

func TestParseEucarcRejectsUnterminatedQuote(t *testing.T) {
	for _, text := range []string{"A='open\n", "A=\"open\n"} {
		_, err := ParseEucarc(strings.NewReader(text), "")
		if err == nil || !strings.Contains(err.Error(), "line 1") ||
			!strings.Contains(err.Error(), "unterminated") {
			t.Errorf("ParseEucarc(%q) error = %v, want an unterminated quote on line 1", text, err)
		}
	}
}

func TestEucarcConfig(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    Config
		wantErr error
		errText string
	}{
		{
			name: "eucalyptus 4 keys",
			text: eucalyptus4Eucarc,
			want: Config{
				Endpoint:        "http://10.111.1.11:8773/services/compute",
				AccessKeyID:     "AKIEUCA4EXAMPLE",
				SecretAccessKey: "s3cr3t/with+slash",
			},
		},
		{
			name: "AWS names take precedence and give region and token",
			text: "export EC2_URL=https://ec2.example.com/\nEC2_ACCESS_KEY=old\n" +
				"EC2_SECRET_KEY=old\nAWS_ACCESS_KEY_ID=new\nAWS_SECRET_ACCESS_KEY=newsecret\n" +
				"AWS_SESSION_TOKEN=tok\nAWS_DEFAULT_REGION=cloud-1\nAWS_REGION=ignored\n",
			want: Config{
				Endpoint: "https://ec2.example.com/", AccessKeyID: "new",
				SecretAccessKey: "newsecret", SessionToken: "tok", Region: "cloud-1",
			},
		},
		{
			name: "AWS_REGION when no default region",
			text: "EC2_URL=http://cloud/\nAWS_REGION=r1\n",
			want: Config{Endpoint: "http://cloud/", Region: "r1"},
		},
		{
			name:    "missing EC2_URL",
			text:    "EC2_ACCESS_KEY=a\nEC2_SECRET_KEY=b\n",
			wantErr: ErrMissingEndpoint,
			errText: "sets no EC2_URL",
		},
		{
			name:    "computed EC2_URL",
			text:    "EC2_URL=$(cloud-url)\n",
			wantErr: ErrMissingEndpoint,
			errText: "computes EC2_URL",
		},
		{
			name:    "EC2_URL without scheme",
			text:    "EC2_URL=10.0.0.1:8773/services/compute\n",
			wantErr: ErrInvalidRequest,
			errText: "not an http or https URL",
		},
		{
			name:    "half a key pair",
			text:    "EC2_URL=http://cloud/\nEC2_ACCESS_KEY=a\n",
			wantErr: ErrInvalidRequest,
			errText: "only one of EC2_ACCESS_KEY and EC2_SECRET_KEY",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, err := ParseEucarc(strings.NewReader(tt.text), "/creds")
			if err != nil {
				t.Fatalf("ParseEucarc: %v", err)
			}
			got, err := rc.Config()
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("Config() error = %v, want %v containing %q", err, tt.wantErr,
						tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatalf("Config(): %v", err)
			}
			if got.Endpoint != tt.want.Endpoint || got.Region != tt.want.Region ||
				got.AccessKeyID != tt.want.AccessKeyID ||
				got.SecretAccessKey != tt.want.SecretAccessKey ||
				got.SessionToken != tt.want.SessionToken {
				t.Errorf("Config() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLoadEucarcSetsKeyDirToFolder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "eucarc")
	if err := os.WriteFile(path, []byte(eucalyptus4Eucarc), 0o600); err != nil {
		t.Fatal(err)
	}
	rc, err := LoadEucarc(path)
	if err != nil {
		t.Fatalf("LoadEucarc: %v", err)
	}
	want := filepath.Join(dir, "cloud-cert.pem")
	if got := rc.Vars["EUCALYPTUS_CERT"]; got != want {
		t.Errorf("EUCALYPTUS_CERT = %q, want %q", got, want)
	}
	if rc.Path != path {
		t.Errorf("Path = %q, want %q", rc.Path, path)
	}
	if _, err := LoadEucarc(filepath.Join(dir, "absent")); err == nil {
		t.Error("LoadEucarc of a missing file returned no error")
	}
}
