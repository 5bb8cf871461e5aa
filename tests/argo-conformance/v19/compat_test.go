package conformance

import (
	"fmt"

	"github.com/argoproj/argo-rollouts/utils/plugin"
	"k8s.io/client-go/kubernetes"
)

// hostGeneration names the host stack this module pins (Argo ≥ v1.7: go-plugin v1.6,
// hashicorp/yamux v0.1.1 with the 75 s StreamOpenTimeout).
const hostGeneration = "argo-rollouts v1.9.2 / go-plugin v1.6.3 / yamux v0.1.1"

// downloadPlugins copies the file:// plugins into ./plugin-bin as the controller does at
// start (the signature gained a client argument in v1.8 for headersFrom secrets).
func downloadPlugins(c kubernetes.Interface) error {
	return plugin.DownloadPlugins(plugin.FileDownloaderImpl{}, c)
}

// pluginEntry is one metricProviderPlugins item as the operator writes it: the data sources
// file goes through the plugin's `args` (Argo >= v1.7 passes them to the binary).
func pluginEntry(name, location, sources string) string {
	return fmt.Sprintf("- name: %q\n  location: %q\n  args: [\"--sources\", %q]\n", name, location, sources)
}
