using System.Globalization;
using System.Text;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Platform.ServiceDefaults;

/// <summary>
/// A Prometheus text-format endpoint for the OpenTelemetry SDK (no Prometheus exporter package is available):
/// a reader collected on each scrape, whose exporter renders the cumulative metrics it is handed.
/// </summary>
public sealed class PrometheusMetrics
{
    private readonly TextExporter _exporter = new();
    private readonly object _gate = new();

    public PrometheusMetrics() => Reader = new BaseExportingMetricReader(_exporter);

    public MetricReader Reader { get; }

    public string Scrape()
    {
        lock (_gate)
        {
            Reader.Collect(5000);
            return _exporter.Last;
        }
    }

    private sealed class TextExporter : BaseExporter<Metric>
    {
        public string Last { get; private set; } = "";

        public override ExportResult Export(in Batch<Metric> batch)
        {
            var text = new StringBuilder();
            foreach (var metric in batch) Write(text, metric);
            Last = text.ToString();
            return ExportResult.Success;
        }

        private static void Write(StringBuilder text, Metric metric)
        {
            var name = Sanitize(metric.Name);
            var type = metric.MetricType switch
            {
                MetricType.LongSum or MetricType.DoubleSum => "counter",
                MetricType.Histogram => "histogram",
                _ => "gauge",
            };
            if (type == "counter") name += "_total";
            if (!string.IsNullOrEmpty(metric.Description)) text.Append("# HELP ").Append(name).Append(' ').Append(metric.Description).Append('\n');
            text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                var labels = Labels(point.Tags);
                switch (metric.MetricType)
                {
                    case MetricType.LongSum or MetricType.LongSumNonMonotonic:
                        Sample(text, name, labels, point.GetSumLong());
                        break;
                    case MetricType.DoubleSum or MetricType.DoubleSumNonMonotonic:
                        Sample(text, name, labels, point.GetSumDouble());
                        break;
                    case MetricType.LongGauge:
                        Sample(text, name, labels, point.GetGaugeLastValueLong());
                        break;
                    case MetricType.DoubleGauge:
                        Sample(text, name, labels, point.GetGaugeLastValueDouble());
                        break;
                    case MetricType.Histogram:
                        long cumulative = 0;
                        foreach (var bucket in point.GetHistogramBuckets())
                        {
                            cumulative += bucket.BucketCount;
                            var le = double.IsPositiveInfinity(bucket.ExplicitBound) ? "+Inf" : bucket.ExplicitBound.ToString(CultureInfo.InvariantCulture);
                            Sample(text, name + "_bucket", Join(labels, $"le=\"{le}\""), cumulative);
                        }
                        Sample(text, name + "_sum", labels, point.GetHistogramSum());
                        Sample(text, name + "_count", labels, point.GetHistogramCount());
                        break;
                }
            }
        }

        private static string Labels(ReadOnlyTagCollection tags)
        {
            var parts = new List<string>();
            foreach (var tag in tags)
                parts.Add($"{Sanitize(tag.Key)}=\"{Convert.ToString(tag.Value, CultureInfo.InvariantCulture)?.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n")}\"");
            return string.Join(',', parts);
        }

        private static string Join(string labels, string extra) => labels.Length == 0 ? extra : labels + "," + extra;

        private static void Sample(StringBuilder text, string name, string labels, double value)
        {
            text.Append(name);
            if (labels.Length > 0) text.Append('{').Append(labels).Append('}');
            text.Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        private static string Sanitize(string name)
        {
            var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_').ToArray();
            return new string(chars);
        }
    }
}
