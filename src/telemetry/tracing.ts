// OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set.
// The SDK, the exporter and bullmq-otel are imported only then (import()), so the default path loads
// none of them; eslint.config.js forbids importing them any other way.
import type { Telemetry } from 'bullmq';
import type { StepEvent } from '../rotation/types.js';

export interface RotationTraceInfo {
  targetId: string;
  provider: string;
  rotationId: string;
  attempt: number;
  trigger: string;
  /** The traceparent an earlier run of this rotation stored: this run continues its trace. */
  traceparent?: string;
}

/** One run of a rotation: a span, with one child span per step. Never given a secret. */
export interface RotationTrace {
  /** 32 hex digits, for the run's log lines. */
  readonly traceId: string;
  /** W3C traceparent of this run's span: what later runs of the rotation continue. */
  readonly traceparent: string;
  step(event: StepEvent): void;
  /** Ends the run's span; `errorKind` when it did not succeed. */
  end(outcome: 'succeeded' | 'retrying' | 'failed' | 'interrupted', errorKind?: string): void;
}

export interface RotationTracer {
  start(info: RotationTraceInfo): RotationTrace;
}

export interface Tracing {
  rotations: RotationTracer;
  /** For BullMQ's Queue and Worker options: BullMQ's own spans (bullmq-otel). */
  bullmq: Telemetry;
  /** Exports what is still buffered and stops. */
  shutdown(): Promise<void>;
}

/** Where spans go, per the OTLP exporter spec: the traces endpoint as is, or <endpoint>/v1/traces. */
export function tracesUrl(env: NodeJS.ProcessEnv): string | undefined {
  if (env.OTEL_SDK_DISABLED === 'true') return undefined;
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT)
    return `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
  return undefined;
}

/** Starts tracing when the environment asks for it (OTLP over HTTP/JSON); undefined otherwise. */
export async function startTracing(
  env: NodeJS.ProcessEnv,
  serviceVersion: string,
): Promise<Tracing | undefined> {
  const url = tracesUrl(env);
  if (!url) return undefined;
  const [api, sdk, { OTLPTraceExporter }, { resourceFromAttributes }, { BullMQOtel }] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('bullmq-otel'),
  ]);
  const provider = new sdk.NodeTracerProvider({
    resource: resourceFromAttributes({
      'service.name': env.OTEL_SERVICE_NAME || 'secret-rotator',
      'service.version': serviceVersion,
    }),
    spanProcessors: [new sdk.BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
  // Global tracer provider, AsyncLocalStorage context (BullMQ's spans nest), W3C trace context.
  provider.register();
  const tracer = api.trace.getTracer('secret-rotator', serviceVersion);

  const rotations: RotationTracer = {
    start(info) {
      const parent = info.traceparent
        ? api.propagation.extract(api.ROOT_CONTEXT, { traceparent: info.traceparent })
        : api.ROOT_CONTEXT;
      // BullMQ's span of this job (when bullmq-otel runs it) is linked, not the parent: a scheduled
      // job would otherwise put every rotation of a target into its scheduler's one trace.
      const bullmqSpan = api.trace.getSpan(api.context.active());
      const common = { 'rotator.target.id': info.targetId, 'rotator.provider': info.provider };
      const span = tracer.startSpan(
        'rotation',
        {
          attributes: {
            ...common,
            'rotator.rotation.id': info.rotationId,
            'rotator.attempt': info.attempt,
            'rotator.trigger': info.trigger,
          },
          links: bullmqSpan ? [{ context: bullmqSpan.spanContext() }] : [],
        },
        parent,
      );
      const inRotation = api.trace.setSpan(api.ROOT_CONTEXT, span);
      const carrier: Record<string, string> = {};
      api.propagation.inject(inRotation, carrier);
      return {
        traceId: span.spanContext().traceId,
        traceparent: carrier.traceparent ?? '',
        step(event) {
          const child = tracer.startSpan(
            event.step,
            {
              startTime: event.startedAt,
              attributes: {
                ...common,
                'rotator.step': event.step,
                'rotator.step.outcome': event.outcome,
                ...(event.errorKind ? { 'rotator.error.kind': event.errorKind } : {}),
                ...(event.httpStatus !== undefined ? { 'http.response.status_code': event.httpStatus } : {}),
                ...(event.vendorCode ? { 'rotator.vendor.code': event.vendorCode } : {}),
                ...(event.requestId ? { 'rotator.vendor.request_id': event.requestId } : {}),
              },
            },
            inRotation,
          );
          if (event.outcome === 'failed') child.setStatus({ code: api.SpanStatusCode.ERROR });
          child.end(event.startedAt + event.durationMs);
        },
        end(outcome, errorKind) {
          span.setAttribute('rotator.outcome', outcome);
          if (errorKind) span.setAttribute('rotator.error.kind', errorKind);
          if (outcome === 'failed') span.setStatus({ code: api.SpanStatusCode.ERROR });
          span.end();
        },
      };
    },
  };

  return {
    rotations,
    bullmq: new BullMQOtel({ tracerName: 'bullmq', version: serviceVersion }),
    shutdown: () => provider.shutdown(),
  };
}
