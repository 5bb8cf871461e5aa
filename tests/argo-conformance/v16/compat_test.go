package conformance

import (
	"fmt"
	"os"

	"github.com/argoproj/argo-rollouts/utils/plugin"
	"k8s.io/client-go/kubernetes"
)

// hostGeneration names the host stack this module pins (Argo v1.5/v1.6: go-plugin v1.4,
// 2018 hashicorp/yamux without StreamOpenTimeout).
const hostGeneration = "argo-rollouts v1.6.6 / go-plugin v1.4.10 / yamux 2018 (3520598)"

// downloadPlugins copies the file:// plugins into ./plugin-bin as the controller does at
// start.
func downloadPlugins(_ kubernetes.Interface) error {
	return plugin.DownloadPlugins(plugin.FileDownloaderImpl{})
}

// pluginEntry is one metricProviderPlugins item as the operator writes it. Argo v1.6 has no
// `args`, so the data sources file is named by CANARY_JUDGE_SOURCES in the controller's
// environment, which the plugin process inherits.
func pluginEntry(name, location, sources string) string {
	os.Setenv("CANARY_JUDGE_SOURCES", sources)
	return fmt.Sprintf("- name: %q\n  location: %q\n", name, location)
}
