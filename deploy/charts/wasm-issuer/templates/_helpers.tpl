{{/* The chart's name, for the app.kubernetes.io/name label. */}}
{{- define "wasm-issuer.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name of every object: <release>-wasm-issuer, or the release name alone
when it already says wasm-issuer. Object names are at most 63 characters.
*/}}
{{- define "wasm-issuer.fullname" -}}
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

{{/* What selects the controller's pods; never changes over upgrades. */}}
{{- define "wasm-issuer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wasm-issuer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The labels of every object. */}}
{{- define "wasm-issuer.labels" -}}
{{ include "wasm-issuer.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The controller's ServiceAccount. */}}
{{- define "wasm-issuer.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "wasm-issuer.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name: the ServiceAccount to run as, when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag, or repository@digest when a digest pins it. */}}
{{/* The leader election Lease: its namespace and name. */}}
{{- define "wasm-issuer.leaseNamespace" -}}
{{- .Values.leaderElection.namespace | default .Release.Namespace }}
{{- end }}

{{- define "wasm-issuer.leaseName" -}}
{{- .Values.leaderElection.leaseName | default (include "wasm-issuer.fullname" .) }}
{{- end }}

{{- define "wasm-issuer.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The resource names of our signers, for `sign` and `approve` on `signers`. */}}
{{- define "wasm-issuer.signerNames" -}}
- wasmissuers.wasm-issuer.dev/*
- wasmclusterissuers.wasm-issuer.dev/*
{{- end }}
