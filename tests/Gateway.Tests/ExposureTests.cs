using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Gateway.Identity;
using Platform.ServiceDefaults;
using Platform.TestSupport;

namespace Platform.Gateway.Tests;

/// <summary>What the gateway shows an anonymous caller, what it tells the services, and how it reaches them.</summary>
public sealed class ExposureTests
{
    private static async Task<HttpResponseMessage> GetAsync(GatewayHost host, string path, string? key = null) =>
        await host.Http.SendAsync(host.Request(HttpMethod.Get, path, key));

    [Fact]
    public async Task Version_Anonymous_HasNoCommit()
    {
        await using var host = await GatewayHost.StartAsync();
        var version = await (await GetAsync(host, "/version")).Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(ServiceDefaultsExtensions.Release, version.GetProperty("version").GetString());
        Assert.DoesNotContain("+", version.GetProperty("version").GetString());
        Assert.False(version.TryGetProperty("commit", out _));
    }

    [Fact]
    public async Task Version_AuthenticatedCaller_GetsTheCommit()
    {
        await using var host = await GatewayHost.StartAsync();
        var key = await host.CreateKeyAsync("standard", Scopes.MarketRead);
        var version = await (await GetAsync(host, "/version", key)).Content.ReadFromJsonAsync<JsonElement>();

        Assert.NotNull(ServiceDefaultsExtensions.Commit);
        Assert.Equal(ServiceDefaultsExtensions.Commit, version.GetProperty("commit").GetString());
    }

    [Fact]
    public async Task Metrics_NoManagementPort_AnonymousGets401AndAdminGetsTheText()
    {
        await using var host = await GatewayHost.StartAsync();
        var reader = await host.CreateKeyAsync("standard", Scopes.MarketRead);
        var admin = await host.CreateKeyAsync("standard", Scopes.Admin);

        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(host, "/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync(host, "/metrics", reader)).StatusCode);
        using var allowed = await GetAsync(host, "/metrics", admin);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Contains("# TYPE", await allowed.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Metrics_AfterAProxiedRequest_HaveTheServerAndClientDurationsAndNoMemoryPoolCounters()
    {
        await using var host = await GatewayHost.StartAsync();
        var admin = await host.CreateKeyAsync("standard", Scopes.Admin, Scopes.MarketRead);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(host, "/v1/market/symbols", admin)).StatusCode);

        var text = await (await GetAsync(host, "/metrics", admin)).Content.ReadAsStringAsync();

        Assert.Contains("http_server_request_duration_seconds_bucket{", text);
        Assert.Contains("http_client_request_duration_seconds_bucket{", text);
        Assert.Contains("kestrel_active_connections", text);
        // Counted on every buffer Kestrel rents: left out of the exported meters (see ServiceDefaultsExtensions.Meters).
        Assert.DoesNotContain("aspnetcore_memory_pool", text);
    }

    [Fact]
    public async Task Metrics_ManagementPort_ServedThereAnonymouslyAndNotOnThePublicListener()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Management:Port"] = port.ToString() },
            b => b.WebHost.UseUrls("http://127.0.0.1:0", $"http://127.0.0.1:{port}"));
        var admin = await host.CreateKeyAsync("standard", Scopes.Admin);

        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(host, "/metrics", admin)).StatusCode);
        using var scraped = await host.Http.GetAsync($"http://127.0.0.1:{port}/metrics");
        Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
        Assert.Contains("# TYPE", await scraped.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Proxy_DirectDestinationWithAppToken_PresentsItInsteadOfTheCallers()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["APP_API_TOKEN"] = "run-token" });
        var key = await host.CreateKeyAsync("standard", Scopes.MarketRead);
        var request = host.Request(HttpMethod.Get, "/v1/market/symbols", key);
        request.Headers.Add(DaprInvocation.TokenHeader, "forged");

        var echo = await (await host.Http.SendAsync(request)).Content.ReadFromJsonAsync<EchoReply>();

        Assert.Equal("run-token", echo!.Headers[DaprInvocation.TokenHeader]);
    }

    [Fact]
    public async Task Proxy_NoAppToken_ForwardsNoCallerToken()
    {
        await using var host = await GatewayHost.StartAsync();
        var key = await host.CreateKeyAsync("standard", Scopes.MarketRead);
        var request = host.Request(HttpMethod.Get, "/v1/market/symbols", key);
        request.Headers.Add(DaprInvocation.TokenHeader, "forged");

        var echo = await (await host.Http.SendAsync(request)).Content.ReadFromJsonAsync<EchoReply>();

        Assert.False(echo!.Headers.ContainsKey(DaprInvocation.TokenHeader));
    }

    [Fact]
    public async Task Proxy_H2cConfigured_ReachesTheHttp2ListenerOverCleartextHttp2()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:BackendProtocol"] = "h2c" });
        var key = await host.CreateKeyAsync("standard", Scopes.MarketRead);

        var echo = await (await GetAsync(host, "/v1/market/symbols", key)).Content.ReadFromJsonAsync<EchoReply>();

        Assert.Equal("HTTP/2", echo!.Protocol);
    }

    [Theory]
    [InlineData("Gateway:BackendProtocol", "http1")]
    [InlineData("Gateway:BackendProtocol", null)]
    public async Task Proxy_Http1ConfiguredOrDefault_SpeaksHttp11(string setting, string? value)
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { [setting] = value });
        var key = await host.CreateKeyAsync("standard", Scopes.MarketRead);

        var echo = await (await GetAsync(host, "/v1/market/symbols", key)).Content.ReadFromJsonAsync<EchoReply>();

        Assert.Equal("HTTP/1.1", echo!.Protocol);
    }

    [Fact]
    public async Task Proxy_NoTraceExporter_HasNoTracerAndStillForwardsTheCallersTrace()
    {
        await using var host = await GatewayHost.StartAsync();
        var key = await host.CreateKeyAsync("standard", Scopes.MarketRead);
        var trace = ActivityTraceId.CreateRandom();
        using var request = host.Request(HttpMethod.Get, "/v1/market/symbols", key);
        request.Headers.Add("traceparent", $"00-{trace}-{ActivitySpanId.CreateRandom()}-01");

        var echo = await (await host.Http.SendAsync(request)).Content.ReadFromJsonAsync<EchoReply>();

        Assert.Null(host.Services.GetService<OpenTelemetry.Trace.TracerProvider>());
        Assert.StartsWith($"00-{trace}-", echo!.Headers["traceparent"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("01")]
    [InlineData("00")]
    public async Task Proxy_NoTraceExporter_ForwardsTheCallersTraceUnderItsOwnSpanWithTheCallersSamplingFlag(string flags)
    {
        await using var host = await GatewayHost.StartAsync();
        var key = await host.CreateKeyAsync("standard", Scopes.MarketRead);
        var trace = ActivityTraceId.CreateRandom();
        var callerSpan = ActivitySpanId.CreateRandom();
        using var request = host.Request(HttpMethod.Get, "/v1/market/symbols", key);
        request.Headers.Add("traceparent", $"00-{trace}-{callerSpan}-{flags}");

        var echo = await (await host.Http.SendAsync(request)).Content.ReadFromJsonAsync<EchoReply>();

        var forwarded = echo!.Headers["traceparent"];
        Assert.Matches($"^00-{trace}-[0-9a-f]{{16}}-{flags}$", forwarded);
        Assert.DoesNotContain(callerSpan.ToHexString(), forwarded);
    }

    [Fact]
    public async Task Proxy_SpanRecorded_CarriesTheCorrelationIdTag()
    {
        // Samples every request span of the process, as a trace exporter's listener would.
        var spans = new System.Collections.Concurrent.ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var host = await GatewayHost.StartAsync();
        var key = await host.CreateKeyAsync("standard", Scopes.MarketRead);
        var correlation = "span-" + Guid.NewGuid().ToString("N");
        using var request = host.Request(HttpMethod.Get, "/v1/market/symbols", key);
        request.Headers.Add("X-Correlation-Id", correlation);

        using var response = await host.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // The span stops after the response has been sent.
        await Eventually.UntilAsync(() => spans.Any(s => Equals(s.GetTagItem("correlation.id"), correlation)), "the request span", TimeSpan.FromSeconds(10));
        Assert.Contains(spans, s => Equals(s.GetTagItem("correlation.id"), correlation));
    }

    [Fact]
    public async Task Proxy_NoTraceListener_LeavesTheRequestActivityUntagged()
    {
        var seen = new TaskCompletionSource<Activity?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await GatewayHost.StartAsync(configure: b => b.Services.AddSingleton<IStartupFilter>(new ActivityProbe(seen)));
        var key = await host.CreateKeyAsync("standard", Scopes.MarketRead);

        using var response = await GetAsync(host, "/v1/market/symbols", key);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var activity = await seen.Task.WaitAsync(TimeSpan.FromSeconds(10));
        // ASP.NET Core's own request activity: there for propagation and log scopes, with no tags to carry.
        Assert.NotNull(activity);
        Assert.Empty(activity.TagObjects);
    }

    /// <summary>Hands over the request's activity once the rest of the pipeline has run.</summary>
    private sealed class ActivityProbe(TaskCompletionSource<Activity?> seen) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, rest) =>
            {
                await rest(context);
                seen.TrySetResult(Activity.Current);
            });
            next(app);
        };
    }

    [Fact]
    public async Task Proxy_LogWrittenDuringARequest_CarriesTheCallersTraceIdAndTheRequestPath()
    {
        var logs = new ScopeCapture();
        var settings = new Dictionary<string, string?>
        {
            // A refused connection: the proxy logs a warning inside the request.
            ["ReverseProxy:Clusters:marketdata:Destinations:primary:Address"] = "http://127.0.0.1:1",
        };
        await using var host = await GatewayHost.StartAsync(settings, b => b.Logging.AddProvider(logs));
        var key = await host.CreateKeyAsync("standard", Scopes.MarketRead);
        var trace = ActivityTraceId.CreateRandom();
        using var request = host.Request(HttpMethod.Get, "/v1/market/symbols", key);
        request.Headers.Add("traceparent", $"00-{trace}-{ActivitySpanId.CreateRandom()}-00");

        using var response = await host.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var error = Assert.Single(logs.Entries, e => e.Category == "Yarp.ReverseProxy.Forwarder.HttpForwarder" && e.Level == LogLevel.Warning
            && e.Message.StartsWith("Request:", StringComparison.Ordinal));
        Assert.Equal(trace.ToHexString(), error.Scope["TraceId"]);
        Assert.Equal("/v1/market/symbols", error.Scope["RequestPath"]);
    }

    /// <summary>Every entry with the values of the scopes it was written in, as a console logger with scopes would show them.</summary>
    private sealed class ScopeCapture : ILoggerProvider, ISupportExternalScope
    {
        private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

        public System.Collections.Concurrent.ConcurrentQueue<(string Category, LogLevel Level, string Message, Dictionary<string, object?> Scope)> Entries { get; } = new();

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose() { }

        private sealed class Logger(ScopeCapture owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var scope = new Dictionary<string, object?>();
                owner._scopes.ForEachScope((value, values) =>
                {
                    if (value is IEnumerable<KeyValuePair<string, object?>> pairs)
                        foreach (var (k, v) in pairs) values[k] = v;
                }, scope);
                owner.Entries.Enqueue((category, logLevel, formatter(state, exception), scope));
            }
        }
    }

    [Fact]
    public async Task Services_TraceExporterConfigured_HasATracer()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9" });

        Assert.NotNull(host.Services.GetService<OpenTelemetry.Trace.TracerProvider>());
    }
}
