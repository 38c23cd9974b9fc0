using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;
using Platform.BuildingBlocks.Secrets;
using Platform.Quant;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Platform.MarketData.Providers;

/// <summary>A vendor of historical bars. Dates are trading dates (inclusive); bars come back in time order.</summary>
public interface IBarProvider
{
    string Name { get; }
    Task<IReadOnlyList<Bar>> FetchAsync(string symbol, BarInterval interval, DateOnly from, DateOnly to, CancellationToken ct = default);
}

/// <summary>The vendor refused the request for good (bad key, unknown symbol); the message carries the vendor's words.</summary>
public sealed class ProviderException(string provider, string message, HttpStatusCode? status = null) : Exception($"{provider}: {message}")
{
    public HttpStatusCode? Status { get; } = status;
}

/// <summary>The provider cannot be used here: no API key is configured. Nothing was sent to the vendor.</summary>
public sealed class ProviderNotConfiguredException(string provider, string message) : Exception($"{provider}: {message}");

/// <summary>The request asks for something the vendor does not offer (an interval, a range); nothing was sent.</summary>
public sealed class ProviderRequestException(string provider, string message) : Exception($"{provider}: {message}");

/// <summary>The vendor asked us to slow down (HTTP 429, or a throttling note in a 200 body); retried after <see cref="RetryAfter"/>.</summary>
public sealed class ProviderThrottledException(string provider, string message, TimeSpan? retryAfter) : Exception($"{provider}: {message}")
{
    public TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>Per-vendor settings (section <c>MarketData:Providers:{Name}</c>).</summary>
public sealed class ProviderOptions
{
    public string? BaseUrl { get; set; }
    /// <summary>The API key; when absent the secret store is asked for <c>{name}-api-key</c>.</summary>
    public string? ApiKey { get; set; }
    /// <summary>Client-side request budget that keeps us under the vendor's limit; 0 = unlimited.</summary>
    public double RequestsPerMinute { get; set; } = 5;
    public int MaxRetries { get; set; } = 4;
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>Longest wait honoured from a Retry-After header.</summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromMinutes(2);
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public static ProviderOptions From(IConfiguration configuration, string name, string defaultBaseUrl, double defaultRequestsPerMinute)
    {
        var options = new ProviderOptions { BaseUrl = defaultBaseUrl, RequestsPerMinute = defaultRequestsPerMinute };
        configuration.GetSection("MarketData:Providers:" + name).Bind(options);
        return options;
    }
}

/// <summary>
/// What every vendor client shares: the API key lookup, a request budget (spacing between requests), and a Polly
/// pipeline that retries transient failures and throttling with exponential back-off, honouring Retry-After.
/// </summary>
public abstract class HttpBarProvider
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private DateTimeOffset _nextSlot = DateTimeOffset.MinValue;
    private readonly ResiliencePipeline _pipeline;

    protected HttpBarProvider(string name, HttpClient http, ProviderOptions options, ISecretStore secrets, TimeProvider clock)
    {
        Name = name;
        Http = http;
        Options = options;
        Secrets = secrets;
        Clock = clock;
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = clock }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = Math.Max(0, options.MaxRetries),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.InitialBackoff,
                MaxDelay = options.MaxRetryAfter,
                ShouldHandle = new PredicateBuilder()
                    .Handle<ProviderThrottledException>()
                    .Handle<HttpRequestException>()
                    .Handle<TimeoutRejectedException>()
                    .Handle<ProviderException>(e => e.Status is { } s && (int)s >= 500),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Exception is ProviderThrottledException { RetryAfter: { } after }
                    ? (TimeSpan?)TimeSpan.FromTicks(Math.Min(after.Ticks, options.MaxRetryAfter.Ticks))
                    : null),
            })
            .AddTimeout(options.RequestTimeout)
            .Build();
    }

    public string Name { get; }
    protected HttpClient Http { get; }
    protected ProviderOptions Options { get; }
    protected ISecretStore Secrets { get; }
    protected TimeProvider Clock { get; }

    protected async Task<string> ApiKeyAsync(CancellationToken ct) =>
        Options.ApiKey is { Length: > 0 } key ? key
        : await Secrets.GetSecretAsync(Name.ToLowerInvariant() + "-api-key", ct)
          ?? throw new ProviderNotConfiguredException(Name, $"no API key: set MarketData:Providers:{Name}:ApiKey or the secret '{Name.ToLowerInvariant()}-api-key'.");

    /// <summary>GETs <paramref name="url"/> within the request budget and with retries; returns the body of a success.</summary>
    protected Task<string> GetAsync(string url, CancellationToken ct) =>
        _pipeline.ExecuteAsync(async token =>
        {
            await WaitForSlotAsync(token);
            using var response = await Http.GetAsync(url, token);
            var body = await response.Content.ReadAsStringAsync(token);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
                throw new ProviderThrottledException(Name, "HTTP 429 Too Many Requests", RetryAfter(response));
            if (!response.IsSuccessStatusCode)
                throw new ProviderException(Name, $"HTTP {(int)response.StatusCode}: {Truncate(body)}", response.StatusCode);
            return body;
        }, ct).AsTask();

    private async Task WaitForSlotAsync(CancellationToken ct)
    {
        if (Options.RequestsPerMinute <= 0) return;
        TimeSpan wait;
        await _gate.WaitAsync(ct);
        try
        {
            var now = Clock.GetUtcNow();
            var slot = _nextSlot > now ? _nextSlot : now;
            _nextSlot = slot + TimeSpan.FromMinutes(1 / Options.RequestsPerMinute);
            wait = slot - now;
        }
        finally
        {
            _gate.Release();
        }
        if (wait > TimeSpan.Zero) await Task.Delay(wait, Clock, ct);
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        if (response.Headers.RetryAfter is { } h)
        {
            if (h.Delta is { } delta) return delta;
            if (h.Date is { } date) return date - Clock.GetUtcNow() is var d && d > TimeSpan.Zero ? d : TimeSpan.Zero;
        }
        return null;
    }

    protected static string Truncate(string s) => s.Length <= 300 ? s : s[..300] + "...";

    protected static string Iso(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
