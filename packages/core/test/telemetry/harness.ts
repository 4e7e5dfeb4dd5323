import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import {
  AggregationTemporality,
  MeterProvider,
  MetricReader,
  type DataPoint,
  type MetricData,
} from '@opentelemetry/sdk-metrics'

/** A pull-only reader: tests call `collect()` when they want numbers. */
class TestMetricReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE })
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve()
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve()
  }
}

/** In-memory OpenTelemetry SDK pieces, injected, never registered globally. */
export function otelHarness(): {
  tracerProvider: BasicTracerProvider
  meterProvider: MeterProvider
  spans: InMemorySpanExporter
  metric(name: string): Promise<MetricData | undefined>
  points(name: string): Promise<DataPoint<unknown>[]>
  shutdown(): Promise<void>
} {
  const spans = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] })
  const reader = new TestMetricReader()
  const meterProvider = new MeterProvider({ readers: [reader] })
  const metric = async (name: string): Promise<MetricData | undefined> => {
    const { resourceMetrics } = await reader.collect()
    return resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).find((m) => m.descriptor.name === name)
  }
  return {
    tracerProvider,
    meterProvider,
    spans,
    metric,
    points: async (name) => ((await metric(name))?.dataPoints ?? []),
    shutdown: async () => {
      await tracerProvider.shutdown()
      await meterProvider.shutdown()
    },
  }
}
