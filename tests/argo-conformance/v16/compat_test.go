package conformance

import (
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
