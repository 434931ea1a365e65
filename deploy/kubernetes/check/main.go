// Command check renders the Kubernetes manifests with kustomize's library
// and checks them offline, as CI does (.ci/run): every object decodes
// strictly (no field the Kubernetes API would drop, no kind we do not know)
// into the API's own types, and the Deployment keeps the promises
// docs/operations.md makes (probes, non-root, a grace period longer than
// the drain). Its own module, so that the main module does not carry
// kustomize and the API types.
//
//	cd deploy/kubernetes/check && go run .
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// The kustomizations checked, from this directory. The base leaves the
// credentials' Secret to its overlay.
var targets = []struct {
	dir        string
	withSecret bool
}{
	{"../base", false},
	{"../overlays/example", true},
}

func main() {
	failed := false
	for _, t := range targets {
		n, err := check(t.dir, t.withSecret)
		if err != nil {
			failed = true
			fmt.Fprintf(os.Stderr, "%s:\n%v\n", t.dir, err)
			continue
		}
		fmt.Printf("%s: %d objects, ok\n", t.dir, n)
	}
	if failed {
		os.Exit(1)
	}
}

// objects is a rendering decoded, by kind.
type objects struct {
	deployments []appsv1.Deployment
	services    []corev1.Service
	pdbs        []policyv1.PodDisruptionBudget
	hpas        []autoscalingv2.HorizontalPodAutoscaler
	configMaps  map[string]corev1.ConfigMap
	secrets     map[string]corev1.Secret
}

func check(dir string, withSecret bool) (int, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return 0, err
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), abs)
	if err != nil {
		return 0, fmt.Errorf("kustomize: %w", err)
	}
	objs := objects{configMaps: map[string]corev1.ConfigMap{}, secrets: map[string]corev1.Secret{}}
	var errs []error
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return 0, err
		}
		if err := objs.decode(r.GetApiVersion(), r.GetKind(), y); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", r.GetKind(), r.GetName(), err))
		}
	}
	if len(errs) == 0 {
		errs = objs.sane(withSecret)
	}
	return m.Size(), errors.Join(errs...)
}

// decode decodes y strictly into the type of its kind: a field the API
// does not have (a typo, a wrong indentation) fails, as does a kind this
// checker does not know.
func (o *objects) decode(apiVersion, kind string, y []byte) error {
	switch apiVersion + " " + kind {
	case "apps/v1 Deployment":
		return strict(y, func(d appsv1.Deployment) { o.deployments = append(o.deployments, d) })
	case "v1 Service":
		return strict(y, func(s corev1.Service) { o.services = append(o.services, s) })
	case "policy/v1 PodDisruptionBudget":
		return strict(y, func(p policyv1.PodDisruptionBudget) { o.pdbs = append(o.pdbs, p) })
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return strict(y, func(h autoscalingv2.HorizontalPodAutoscaler) { o.hpas = append(o.hpas, h) })
	case "v1 ConfigMap":
		return strict(y, func(c corev1.ConfigMap) { o.configMaps[c.Name] = c })
	case "v1 Secret":
		return strict(y, func(s corev1.Secret) { o.secrets[s.Name] = s })
	}
	return fmt.Errorf("unknown kind %s %s: teach this checker its type", apiVersion, kind)
}

// strict decodes y into a T, refusing fields T does not have, and hands
// it to keep (also when it fails, so that the report names what it found).
func strict[T any](y []byte, keep func(T)) error {
	var v T
	err := yaml.UnmarshalStrict(y, &v)
	keep(v)
	return err
}

// sane checks what the documentation promises of the rendering.
func (o *objects) sane(withSecret bool) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(o.deployments) != 1 {
		fail("want one Deployment, have %d", len(o.deployments))
		return errs
	}
	d := o.deployments[0]
	pod := d.Spec.Template.Spec
	podLabels := labels.Set(d.Spec.Template.Labels)
	if sel := d.Spec.Selector; sel == nil || !labels.SelectorFromSet(sel.MatchLabels).Matches(podLabels) {
		fail("Deployment: its selector does not select its own pods")
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		fail("Deployment: fewer than 2 replicas")
	}
	if len(pod.Containers) != 1 {
		fail("Deployment: want one container, have %d", len(pod.Containers))
		return errs
	}
	c := pod.Containers[0]

	// Probes, on the container's own port.
	probe := func(name string, p *corev1.Probe, path string) {
		switch {
		case p == nil:
			fail("Deployment: no %s probe", name)
		case p.HTTPGet == nil || p.HTTPGet.Path != path:
			fail("Deployment: the %s probe does not GET %s", name, path)
		case !hasPort(c, p.HTTPGet.Port.String()):
			fail("Deployment: the %s probe's port %s is not the container's", name, p.HTTPGet.Port.String())
		}
	}
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("liveness", c.LivenessProbe, "/healthz")
	probe("startup", c.StartupProbe, "/healthz")

	// Locked down: non-root, read-only, no capabilities, no escalation,
	// the runtime's seccomp profile.
	psc, sc := pod.SecurityContext, c.SecurityContext
	if !(isTrue(sc, func(s *corev1.SecurityContext) *bool { return s.RunAsNonRoot }) || psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot) {
		fail("Deployment: runAsNonRoot is not set")
	}
	if uid := runAsUser(psc, sc); uid == nil || *uid == 0 {
		fail("Deployment: no non-zero runAsUser (the image's user is 65532)")
	}
	if !isTrue(sc, func(s *corev1.SecurityContext) *bool { return s.ReadOnlyRootFilesystem }) {
		fail("Deployment: the root filesystem is not read-only")
	}
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		fail("Deployment: privilege escalation is not turned off")
	}
	if sc == nil || sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) > 0 {
		fail("Deployment: capabilities are not drop ALL, add none")
	}
	if !seccompRuntimeDefault(psc, sc) {
		fail("Deployment: the seccomp profile is not RuntimeDefault")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		fail("Deployment: CPU and memory requests, and a memory limit, are not all set")
	}

	// The drain fits in the grace period: the preStop pause, then the
	// server's SHUTDOWN_TIMEOUT, before the kubelet's SIGKILL.
	env, missing := o.env(c)
	for _, name := range missing {
		if name != "secret/ordergraph-credentials" || withSecret {
			fail("Deployment: envFrom names %s, which is not rendered", name)
		}
	}
	shutdown := 15 * time.Second // the server's default
	if s, ok := env["SHUTDOWN_TIMEOUT"]; ok {
		var err error
		if shutdown, err = time.ParseDuration(s); err != nil {
			fail("SHUTDOWN_TIMEOUT %q: %v", s, err)
		}
	}
	var pause time.Duration
	if l := c.Lifecycle; l == nil || l.PreStop == nil || l.PreStop.Sleep == nil {
		fail("Deployment: no preStop sleep (the image has no shell for an exec hook)")
	} else {
		pause = time.Duration(l.PreStop.Sleep.Seconds) * time.Second
	}
	if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= pause+shutdown {
		fail("Deployment: terminationGracePeriodSeconds is not above the preStop pause (%v) + SHUTDOWN_TIMEOUT (%v)", pause, shutdown)
	}
	for _, name := range []string{"REDIS_URL", "WECHAT_APP_ID", "WECHAT_APP_SECRET", "JWT_SECRET", "CURSOR_SECRET"} {
		if _, ok := env[name]; !ok && (withSecret || name == "REDIS_URL") {
			fail("Deployment: %s is not set", name)
		}
	}

	// The others point at the Deployment and its pods.
	if len(o.services) != 1 || !selects(o.services[0].Spec.Selector, podLabels) {
		fail("want one Service, selecting the pods")
	} else {
		for _, p := range o.services[0].Spec.Ports {
			if !hasPort(c, p.TargetPort.String()) {
				fail("Service: port %s is not the container's", p.TargetPort.String())
			}
		}
	}
	if len(o.pdbs) != 1 || o.pdbs[0].Spec.Selector == nil || !selects(o.pdbs[0].Spec.Selector.MatchLabels, podLabels) {
		fail("want one PodDisruptionBudget, selecting the pods")
	}
	if len(o.hpas) != 1 || o.hpas[0].Spec.ScaleTargetRef.Kind != "Deployment" || o.hpas[0].Spec.ScaleTargetRef.Name != d.Name {
		fail("want one HorizontalPodAutoscaler, scaling the Deployment")
	} else if m := o.hpas[0].Spec.MinReplicas; m == nil || *m < 2 {
		fail("HorizontalPodAutoscaler: minReplicas below 2")
	}
	return errs
}

// env is the container's environment from its env and envFrom, and the
// ConfigMaps and Secrets envFrom names that the rendering lacks.
func (o *objects) env(c corev1.Container) (env map[string]string, missing []string) {
	env = map[string]string{}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			cm, ok := o.configMaps[from.ConfigMapRef.Name]
			if !ok {
				missing = append(missing, "configmap/"+from.ConfigMapRef.Name)
			}
			for k, v := range cm.Data {
				env[from.Prefix+k] = v
			}
		case from.SecretRef != nil:
			s, ok := o.secrets[from.SecretRef.Name]
			if !ok {
				missing = append(missing, "secret/"+from.SecretRef.Name)
			}
			for k, v := range s.StringData {
				env[from.Prefix+k] = v
			}
			for k, v := range s.Data {
				env[from.Prefix+k] = string(v)
			}
		}
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env, missing
}

func hasPort(c corev1.Container, port string) bool {
	for _, p := range c.Ports {
		if p.Name == port || fmt.Sprint(p.ContainerPort) == port {
			return true
		}
	}
	return false
}

func selects(selector map[string]string, podLabels labels.Set) bool {
	return len(selector) > 0 && labels.SelectorFromSet(selector).Matches(podLabels)
}

func isTrue(sc *corev1.SecurityContext, field func(*corev1.SecurityContext) *bool) bool {
	return sc != nil && field(sc) != nil && *field(sc)
}

// runAsUser is the container's user, its own setting over the pod's.
func runAsUser(psc *corev1.PodSecurityContext, sc *corev1.SecurityContext) *int64 {
	if sc != nil && sc.RunAsUser != nil {
		return sc.RunAsUser
	}
	if psc != nil {
		return psc.RunAsUser
	}
	return nil
}

func seccompRuntimeDefault(psc *corev1.PodSecurityContext, sc *corev1.SecurityContext) bool {
	p := (*corev1.SeccompProfile)(nil)
	if psc != nil {
		p = psc.SeccompProfile
	}
	if sc != nil && sc.SeccompProfile != nil {
		p = sc.SeccompProfile
	}
	return p != nil && p.Type == corev1.SeccompProfileTypeRuntimeDefault
}
