// Command cert-manager-controller runs a chosen set of cert-manager's own
// controllers, out of cluster, against a kubeconfig.
//
// cert-manager's controller binary cannot be built from the Go module proxy
// (its main lives in a nested module that is not published), but the root
// module publishes every controller under pkg/controller together with a
// registry (controller.Known) and a ContextFactory. This main does what
// cert-manager's cmd/controller does, minus what a local test cluster does not
// need: no leader election, no webhook, no ACME, no Vault/Venafi, no
// ingress/gateway shims.
//
// --controllers picks which of them run, with the semantics of cert-manager's
// own flag: a comma-separated list where "*" means every controller in
// enabled, "-name" disables one and a plain name enables one. The default, "*",
// runs them all; "*,-certificaterequests-approver" leaves approval to someone
// else (a test, or approver-policy in a real cluster).
//
// It serves GET /readyz on --health-address: 200 once every informer cache
// has synced, so the test harness knows the controllers are watching.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"k8s.io/klog/v2"

	"github.com/cert-manager/cert-manager/pkg/controller"
	"github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	crca "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	"github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	"github.com/cert-manager/cert-manager/pkg/controller/issuers"
	logf "github.com/cert-manager/cert-manager/pkg/logs"

	// Registers the in-tree CA issuer with pkg/issuer, which the issuers and
	// clusterissuers controllers use to set up (validate) CA Issuers.
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
)

// enabled lists the controllers this binary can run, and runs by default (the
// "*" of --controllers). Importing a controller package registers it with
// controller.Known(); naming it here makes it available.
var enabled = []string{
	// The Certificate lifecycle: Certificate -> CertificateRequest -> Secret.
	trigger.ControllerName,
	issuing.ControllerName,
	keymanager.ControllerName,
	requestmanager.ControllerName,
	readiness.ControllerName,
	revisionmanager.ControllerName,
	// Approves every CertificateRequest not yet approved or denied.
	approver.ControllerName,
	// cert-manager's own CA issuer, to compare with ours side by side.
	crca.CRControllerName,
	issuers.ControllerName,
	clusterissuers.ControllerName,
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "path to the kubeconfig of the cluster to control")
	clusterResourceNamespace := flag.String("cluster-resource-namespace", "cert-manager",
		"namespace holding the Secrets that ClusterIssuers refer to")
	healthAddress := flag.String("health-address", "127.0.0.1:0", "listen address for GET /readyz")
	workers := flag.Int("workers", 5, "workers per controller")
	controllers := flag.String("controllers", "*",
		`comma-separated controllers to run: "*" for all of `+strings.Join(enabled, ", ")+
			`; "-name" to disable one, "name" to enable one (e.g. "*,-certificaterequests-approver")`)
	klog.InitFlags(flag.CommandLine)
	flag.Parse()

	logf.InitLogs()
	defer logf.FlushLogs()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx = logf.NewContext(ctx, klog.Background(), "cert-manager-controller")

	chosen, err := selectControllers(*controllers)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cert-manager-controller: --controllers:", err)
		os.Exit(2)
	}

	if err := run(ctx, *kubeconfig, *clusterResourceNamespace, *healthAddress, *workers, chosen); err != nil {
		fmt.Fprintln(os.Stderr, "cert-manager-controller:", err)
		logf.FlushLogs()
		os.Exit(1)
	}
}

// selectControllers resolves a --controllers value as cert-manager does:
// "*" adds every controller in enabled, "name" adds one, "-name" removes one.
// Removals win whatever their position. Unknown names are errors, so a typo
// never silently keeps a controller running. The result keeps enabled's order.
func selectControllers(spec string) ([]string, error) {
	add := map[string]bool{}
	remove := map[string]bool{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "":
			continue
		case item == "*":
			for _, name := range enabled {
				add[name] = true
			}
		case strings.HasPrefix(item, "-"):
			name := strings.TrimPrefix(item, "-")
			if !slices.Contains(enabled, name) {
				return nil, fmt.Errorf("cannot disable unknown controller %q (known: %s)",
					name, strings.Join(enabled, ", "))
			}
			remove[name] = true
		default:
			if !slices.Contains(enabled, item) {
				return nil, fmt.Errorf("unknown controller %q (known: %s)",
					item, strings.Join(enabled, ", "))
			}
			add[item] = true
		}
	}
	var chosen []string
	for _, name := range enabled {
		if add[name] && !remove[name] {
			chosen = append(chosen, name)
		}
	}
	return chosen, nil
}

func run(ctx context.Context, kubeconfig, clusterResourceNamespace, healthAddress string, workers int,
	controllers []string) error {
	log := logf.FromContext(ctx)
	disabled := []string{}
	for _, name := range enabled {
		if !slices.Contains(controllers, name) {
			disabled = append(disabled, name)
		}
	}
	log.Info("controllers selected", "enabled", controllers, "disabled", disabled)

	factory, err := controller.NewContextFactory(ctx, controller.ContextOptions{
		Kubeconfig: kubeconfig,
		IssuerOptions: controller.IssuerOptions{
			ClusterResourceNamespace: clusterResourceNamespace,
		},
		// cert-manager's defaults (cmd/controller/app/options).
		KubernetesAPIQPS:   20,
		KubernetesAPIBurst: 50,
		CertificateOptions: controller.CertificateOptions{
			CertificateRequestMinimumBackoffDuration: time.Hour,
			CertificateRequestMaximumBackoffDuration: 32 * time.Hour,
		},
	})
	if err != nil {
		return fmt.Errorf("building controller context: %w", err)
	}

	// Construct every controller first: constructors register the informers
	// they need, and the shared factories only start informers that exist.
	known := controller.Known()
	loops := make(map[string]controller.Interface, len(controllers))
	for _, name := range controllers {
		construct, ok := known[name]
		if !ok {
			return fmt.Errorf("controller %q is not registered", name)
		}
		loop, err := construct(factory)
		if err != nil {
			return fmt.Errorf("constructing controller %q: %w", name, err)
		}
		loops[name] = loop
	}

	// Every Context built by the factory shares the same informer factories.
	shared, err := factory.Build()
	if err != nil {
		return fmt.Errorf("building shared context: %w", err)
	}

	var ready atomic.Bool
	listener, err := net.Listen("tcp", healthAddress)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", healthAddress, err)
	}
	go serveHealth(listener, &ready)
	log.Info("serving health", "address", listener.Addr().String())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(loops))
	for name, loop := range loops {
		wg.Go(func() {
			log.Info("starting controller", "controller", name)
			if err := loop.Run(workers, ctx); err != nil {
				errs <- fmt.Errorf("controller %q: %w", name, err)
				cancel()
			}
		})
	}

	shared.SharedInformerFactory.Start(ctx.Done())
	shared.KubeSharedInformerFactory.Start(ctx.Done())
	shared.SharedInformerFactory.WaitForCacheSync(ctx.Done())
	shared.KubeSharedInformerFactory.WaitForCacheSync(ctx.Done())
	if ctx.Err() == nil {
		ready.Store(true)
		log.Info("all informers synced; controllers running", "controllers", controllers)
	}

	wg.Wait()
	close(errs)
	return errors.Join(collect(errs)...)
}

// serveHealth answers GET /readyz: 200 once ready is set, 503 before.
func serveHealth(listener net.Listener, ready *atomic.Bool) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "informers not synced", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if err := server.Serve(listener); err != nil {
		klog.ErrorS(err, "health server stopped")
	}
}

func collect(errs <-chan error) []error {
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return all
}
