{{/* Chart name, overridable. */}}
{{- define "canary-judge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name; release name is used alone when it already contains the chart name. */}}
{{- define "canary-judge.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* helm.sh/chart label value. */}}
{{- define "canary-judge.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: stable across upgrades, so never add version-like values here. */}}
{{- define "canary-judge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "canary-judge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Common labels (Helm best-practice set). */}}
{{- define "canary-judge.labels" -}}
helm.sh/chart: {{ include "canary-judge.chart" . }}
{{ include "canary-judge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/component: analysis
app.kubernetes.io/part-of: canary-judge
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* ServiceAccount name. */}}
{{- define "canary-judge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "canary-judge.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference: digest wins over tag. */}}
{{- define "canary-judge.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* In-cluster HTTP base URL of the service. */}}
{{- define "canary-judge.httpURL" -}}
{{- printf "http://%s.%s.svc:%d" (include "canary-judge.fullname" .) .Release.Namespace (int .Values.service.httpPort) }}
{{- end }}

{{/* Directory where Prometheus credentials are mounted. */}}
{{- define "canary-judge.authDir" -}}/etc/canary-judge/prometheus{{- end }}

{{/* The config file content (also hashed into a pod annotation so a change rolls the pods). */}}
{{- define "canary-judge.config" -}}
{{- $p := .Values.config.prometheus -}}
{{- $a := .Values.prometheusAuth -}}
{{- $dir := include "canary-judge.authDir" . -}}
{{- $server := deepCopy .Values.config.server -}}
{{- if .Values.flagger.enabled }}
{{- $_ := set $server "canary_windows" "kubernetes" -}}
{{- end }}
{{- with $server }}
server:
  {{- toYaml . | nindent 2 }}
{{- end }}
prometheus:
  address: {{ $p.address | quote }}
  timeout: {{ $p.timeout | quote }}
  insecure_skip_verify: {{ $p.insecureSkipVerify }}
  {{- with $p.headers }}
  headers:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if eq $a.type "bearer" }}
  bearer_token:
    file: {{ printf "%s/%s" $dir $a.tokenKey | quote }}
  {{- else if eq $a.type "basic" }}
  basic_auth:
    username: {{ required "prometheusAuth.username is required when prometheusAuth.type is basic" $a.username | quote }}
    password:
      file: {{ printf "%s/%s" $dir $a.passwordKey | quote }}
  {{- end }}
  {{- if and $a.existingSecret $a.caKey }}
  ca_file: {{ printf "%s/%s" $dir $a.caKey | quote }}
  {{- end }}
{{- with .Values.config.sources }}
sources:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .Values.auth.enabled }}
auth:
  tokens:
    {{- range required "auth.tokens must list at least one token when auth.enabled" .Values.auth.tokens }}
    - name: {{ .name | quote }}
      token:
        file: {{ printf "/etc/canary-judge/auth/%s" .key | quote }}
      {{- with .templates }}
      templates: {{ toJson . }}
      {{- end }}
      {{- with .sources }}
      sources: {{ toJson . }}
      {{- end }}
    {{- end }}
{{- end }}
templates:
  {{- if .Values.config.templates }}
  {{- toYaml .Values.config.templates | nindent 2 }}
  {{- else }} {}
  {{- end }}
{{- end }}
