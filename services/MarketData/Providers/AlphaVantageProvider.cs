using System.Globalization;
using System.Text.Json;
using Platform.BuildingBlocks.Secrets;
using Platform.Quant;

namespace Platform.MarketData.Providers;

/// <summary>
/// Alpha Vantage time series (<c>GET /query?function=TIME_SERIES_DAILY|TIME_SERIES_INTRADAY</c>). Values are strings
/// under keys such as <c>"1. open"</c>; intraday timestamps are US/Eastern and are paged month by month (<c>month=YYYY-MM</c>).
/// Throttling comes back as HTTP 200 with a <c>Note</c> or <c>Information</c> message, errors as <c>Error Message</c>.
/// </summary>
public sealed class AlphaVantageProvider(HttpClient http, ProviderOptions options, ISecretStore secrets, TimeProvider clock)
    : HttpBarProvider("AlphaVantage", http, options, secrets, clock), IBarProvider
{
    public const string DefaultBaseUrl = "https://www.alphavantage.co";
    private static readonly TimeZoneInfo Eastern = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
    private static readonly string[] IntradayIntervals = ["1m", "5m", "15m", "30m", "60m", "1h"];

    public async Task<IReadOnlyList<Bar>> FetchAsync(string symbol, BarInterval interval, DateOnly from, DateOnly to, CancellationToken ct = default)
    {
        var key = await ApiKeyAsync(ct);
        var baseUrl = Options.BaseUrl!.TrimEnd('/') + "/query?";
        var bars = new List<Bar>();
        if (interval == BarInterval.OneDay)
        {
            var body = await QueryAsync($"{baseUrl}function=TIME_SERIES_DAILY&symbol={Uri.EscapeDataString(symbol)}&outputsize=full&datatype=json&apikey={Uri.EscapeDataString(key)}", ct);
            bars.AddRange(Parse(body, "Time Series (Daily)", daily: true));
        }
        else if (IntradayIntervals.Contains(interval.Name))
        {
            var name = interval.Name == "1h" ? "60min" : interval.Name[..^1] + "min";
            for (var month = new DateOnly(from.Year, from.Month, 1); month <= to; month = month.AddMonths(1))
            {
                var body = await QueryAsync($"{baseUrl}function=TIME_SERIES_INTRADAY&symbol={Uri.EscapeDataString(symbol)}&interval={name}"
                    + $"&month={month:yyyy-MM}&outputsize=full&extended_hours=false&datatype=json&apikey={Uri.EscapeDataString(key)}", ct);
                bars.AddRange(Parse(body, $"Time Series ({name})", daily: false));
            }
        }
        else throw new ProviderRequestException(Name, $"interval {interval} is not offered (1d, 1m, 5m, 15m, 30m, 1h).");

        var start = new DateTimeOffset(from.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var end = new DateTimeOffset(to.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        return bars.Where(b => b.Time >= start && b.Time < end).OrderBy(b => b.Time).ToList();
    }

    private async Task<string> QueryAsync(string url, CancellationToken ct)
    {
        // Throttling arrives as a 200: let the retry pipeline see it by checking inside the attempt.
        for (var attempt = 0; ; attempt++)
        {
            var body = await GetAsync(url, ct);
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.TryGetProperty("Error Message", out var error)) throw new ProviderException(Name, error.GetString() ?? "error");
            var note = root.TryGetProperty("Note", out var n) ? n.GetString() : root.TryGetProperty("Information", out var i) ? i.GetString() : null;
            if (note is null) return body;
            if (attempt >= Options.MaxRetries) throw new ProviderThrottledException(Name, note, null);
            await Task.Delay(TimeSpan.FromTicks(Options.InitialBackoff.Ticks << Math.Min(attempt, 8)), Clock, ct);
        }
    }

    private static IEnumerable<Bar> Parse(string body, string seriesKey, bool daily)
    {
        using var doc = JsonDocument.Parse(body);
        if (!doc.RootElement.TryGetProperty(seriesKey, out var series)) return [];
        var list = new List<Bar>();
        foreach (var p in series.EnumerateObject())
        {
            DateTimeOffset time;
            if (daily)
                time = new DateTimeOffset(DateTime.ParseExact(p.Name, "yyyy-MM-dd", CultureInfo.InvariantCulture), TimeSpan.Zero);
            else
            {
                var local = DateTime.SpecifyKind(DateTime.ParseExact(p.Name, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), DateTimeKind.Unspecified);
                time = new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(local, Eastern));
            }
            double V(string k) => double.Parse(p.Value.GetProperty(k).GetString()!, CultureInfo.InvariantCulture);
            list.Add(new Bar(time, V("1. open"), V("2. high"), V("3. low"), V("4. close"), V("5. volume")));
        }
        return list;
    }
}
