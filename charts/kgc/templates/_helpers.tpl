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
- --controller-name={{ .Values.controllerName }}
- --gatewayclass-workers={{ .Values.workers.gatewayClass }}
- --gateway-workers={{ .Values.workers.gateway }}
- --httproute-workers={{ .Values.workers.httpRoute }}
- --grpcroute-workers={{ .Values.workers.grpcRoute }}
- --kongplugin-workers={{ .Values.workers.kongPlugin }}
- --backendtlspolicy-workers={{ .Values.workers.backendTLSPolicy }}
- --listenerset-workers={{ .Values.workers.listenerSet }}
- --tlsroute-workers={{ .Values.workers.tlsRoute }}
- --tcproute-workers={{ .Values.workers.tcpRoute }}
- --udproute-workers={{ .Values.workers.udpRoute }}
{{- range .Values.kong.adminUrls }}
- --kong-admin-url={{ . }}
{{- end }}
{{- with .Values.kong.adminService }}
- --kong-admin-service={{ . }}
{{- end }}
- --kong-probe-interval={{ .Values.kong.probeInterval }}
{{- if .Values.kong.adminHeadersSecret }}
- --kong-admin-header-file=/etc/kgc/admin-headers/headers
{{- end }}
{{- with .Values.kong.tlsServerName }}
- --kong-admin-tls-server-name={{ . }}
{{- end }}
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

{{/* The workload kind: a StatefulSet with one listener-cache claim per pod when the cache is
persistent (pods must not share one LMDB environment), a Deployment with an emptyDir otherwise. */}}
{{- define "kgc.workloadKind" -}}
{{- if .Values.listenerCache.persistence.enabled }}StatefulSet{{ else }}Deployment{{ end }}
{{- end }}

{{/* kubectl's short name of the workload, for NOTES: "sts/NAME" or "deploy/NAME". */}}
{{- define "kgc.workloadRef" -}}
{{- if .Values.listenerCache.persistence.enabled }}sts{{ else }}deploy{{ end }}/{{ include "kgc.fullname" . }}
{{- end }}

{{/* The pod template shared by the Deployment and the StatefulSet. The listener-cache volume is
an emptyDir when the cache is not persistent; when it is, the pod template has no such volume and
the StatefulSet's volumeClaimTemplates entry of that name gives each pod its own claim. */}}
{{- define "kgc.podTemplate" -}}
metadata:
  {{- with .Values.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  labels:
    {{- include "kgc.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "kgc.serviceAccountName" . }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- with .Values.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: kgc
      image: {{ include "kgc.image" . | quote }}
      imagePullPolicy: {{ .Values.imagePullPolicy }}
      args:
        {{- include "kgc.args" . | nindent 8 }}
      env:
        - name: POD_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: http
          containerPort: 10254
          protocol: TCP
        - name: probes
          containerPort: 10253
          protocol: TCP
        - name: debug
          containerPort: 10256
          protocol: TCP
        {{- if .Values.invalidBackend.enabled }}
        - name: invalid-backend
          containerPort: 10257
          protocol: TCP
        {{- end }}
      livenessProbe:
        httpGet:
          path: /healthz
          port: probes
        initialDelaySeconds: 5
        periodSeconds: 10
        failureThreshold: 3
      readinessProbe:
        httpGet:
          path: /readyz
          port: probes
        periodSeconds: 5
        failureThreshold: 3
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: listener-cache
          mountPath: /var/lib/kgc/listeners
        {{- if .Values.kong.adminHeadersSecret }}
        - name: admin-headers
          mountPath: /etc/kgc/admin-headers
          readOnly: true
        {{- end }}
  {{- if or (not .Values.listenerCache.persistence.enabled) .Values.kong.adminHeadersSecret }}
  volumes:
    {{- if not .Values.listenerCache.persistence.enabled }}
    - name: listener-cache
      emptyDir: {}
    {{- end }}
    {{- if .Values.kong.adminHeadersSecret }}
    - name: admin-headers
      secret:
        secretName: {{ .Values.kong.adminHeadersSecret }}
        items:
          - key: headers
            path: headers
    {{- end }}
  {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
