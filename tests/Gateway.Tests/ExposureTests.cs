using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Platform.Gateway.Identity;
using Platform.ServiceDefaults;

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

    [Fact]
    public async Task Services_TraceExporterConfigured_HasATracer()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9" });

        Assert.NotNull(host.Services.GetService<OpenTelemetry.Trace.TracerProvider>());
    }
}
