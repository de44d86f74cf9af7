{{/* Chart name. */}}
{{- define "kgc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart, unless the release name already contains the chart name. */}}
{{- define "kgc.fullname" -}}
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

{{/* Chart label value. */}}
{{- define "kgc.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels. */}}
{{- define "kgc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kgc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Common labels. */}}
{{- define "kgc.labels" -}}
helm.sh/chart: {{ include "kgc.chart" . }}
{{ include "kgc.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* ServiceAccount name. */}}
{{- define "kgc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kgc.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Container image. */}}
{{- define "kgc.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* kgc command-line arguments, one per line as a YAML list. */}}
{{- define "kgc.args" -}}
{{- if and .Values.kong.adminUrls .Values.kong.adminService }}
{{- fail "kong.adminUrls and kong.adminService are exclusive: set only one" }}
{{- end }}
{{- if and .Values.listenerCache.persistence.enabled (gt (int .Values.replicaCount) 1) }}
{{- fail "listenerCache.persistence.enabled needs replicaCount: 1 (pods must not share one LMDB environment); with more replicas use the default emptyDir" }}
{{- end }}
- --controller-name={{ .Values.controllerName }}
- --gatewayclass-workers={{ .Values.workers.gatewayClass }}
- --gateway-workers={{ .Values.workers.gateway }}
- --httproute-workers={{ .Values.workers.httpRoute }}
{{- range .Values.kong.adminUrls }}
- --kong-admin-url={{ . }}
{{- end }}
{{- with .Values.kong.adminService }}
- --kong-admin-service={{ . }}
{{- end }}
- --kong-probe-interval={{ .Values.kong.probeInterval }}
{{- with .Values.publishService }}
- --publish-service={{ . }}
{{- end }}
- --log-level={{ .Values.log.level }}
- --log-format={{ .Values.log.format }}
- --http-listen=:10254
- --probe-listen=:10253
{{- if .Values.debug.service.enabled }}
- --debug-listen=:10256
{{- else }}
- --debug-listen=127.0.0.1:10256
{{- end }}
- --listener-cache-dir=/var/lib/kgc/listeners
{{- if .Values.invalidBackend.enabled }}
- --invalid-backend-listen=:10257
- --invalid-backend-target={{ include "kgc.fullname" . }}-invalid-backend.{{ .Release.Namespace }}.svc.{{ .Values.invalidBackend.clusterDomain }}:10257
{{- end }}
{{- if gt (int .Values.replicaCount) 1 }}
- --leader-elect
- --election-id={{ include "kgc.fullname" . }}
{{- end }}
{{- range .Values.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}
