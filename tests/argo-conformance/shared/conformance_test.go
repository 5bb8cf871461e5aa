package conformance

import (
	"testing"

	"github.com/argoproj/argo-rollouts/metricproviders/plugin/client"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/utils/config"
	"github.com/argoproj/argo-rollouts/utils/plugin"
	goPlugin "github.com/hashicorp/go-plugin"
	_ "github.com/hashicorp/yamux"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

var _ = client.GetMetricPlugin
var _ = v1alpha1.Metric{}
var _ = config.InitializeConfig
var _ = plugin.DownloadPlugins
var _ = goPlugin.CleanupClients
var _ = corev1.ConfigMap{}
var _ = metav1.Time{}
var _ = fake.NewSimpleClientset

func TestNothing(t *testing.T) {}
