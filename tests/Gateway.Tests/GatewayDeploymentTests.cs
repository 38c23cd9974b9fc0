using Platform.Gateway.Identity;

namespace Platform.Gateway.Tests;

/// <summary>The gateway configured as the Kubernetes overlays configure it: destinations through Dapr, the JWT key from the secret store.</summary>
public sealed class GatewayDeploymentTests
{
    [Fact]
    public async Task Proxy_ClusterNamingADaprAppId_SendsTheAppIdHeaderAndTheUnchangedPath()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["ReverseProxy:Clusters:serving:Metadata:DaprAppId"] = "serving",
        });
        var key = await host.CreateKeyAsync("standard", Scopes.PredictionsWrite, Scopes.MarketRead);

        var forged = host.Request(HttpMethod.Post, "/v1/predictions?x=1", apiKey: key, content: JsonContent.Create(new { }));
        forged.Headers.Add(DaprInvocation.AppIdHeader, "training");
        var served = await (await host.Http.SendAsync(forged)).Content.ReadFromJsonAsync<EchoReply>();
        var plain = await (await host.Http.SendAsync(host.Request(HttpMethod.Get, "/v1/market/symbols", apiKey: key))).Content.ReadFromJsonAsync<EchoReply>();

        Assert.Equal("serving", served!.Headers[DaprInvocation.AppIdHeader]);
        Assert.Equal("/v1/predictions", served.Path);
        Assert.False(plain!.Headers.ContainsKey(DaprInvocation.AppIdHeader));
    }

    [Fact]
    public async Task Proxy_OneOfTwoDestinationsRefusesConnections_EveryRequestIsServedByTheOther()
    {
        int closedPort;
        using (var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            closedPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["ReverseProxy:Clusters:serving:Destinations:dead:Address"] = $"http://127.0.0.1:{closedPort}",
        });
        var key = await host.CreateKeyAsync("premium", Scopes.PredictionsWrite);

        var statuses = new List<HttpStatusCode>();
        var bodies = new List<long>();
        for (var i = 0; i < 20; i++)
        {
            var response = await host.Http.SendAsync(host.Request(HttpMethod.Post, "/v1/predictions", apiKey: key,
                content: new StringContent("{\"model\":\"m\",\"symbol\":\"A\"}", System.Text.Encoding.UTF8, "application/json")));
            statuses.Add(response.StatusCode);
            if (response.IsSuccessStatusCode) bodies.Add((await response.Content.ReadFromJsonAsync<EchoReply>())!.BodyBytes);
        }

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        // The resent request carries its whole body.
        Assert.All(bodies, b => Assert.Equal(26, b));
    }

    [Fact]
    public async Task Jwt_KeyOnlyInTheSecretStore_IsAccepted()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Jwt:SigningKey"] = "",
            ["Secrets:" + SecretNames.GatewayJwtSigningKey] = GatewayHost.JwtKey,
        });

        var response = await host.Http.SendAsync(host.Request(HttpMethod.Get, "/v1/models", bearer: GatewayHost.Token([Scopes.ModelsRead])));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Jwt_NoKeyConfiguredOrStored_Returns401()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Jwt:SigningKey"] = "" });

        var response = await host.Http.SendAsync(host.Request(HttpMethod.Get, "/v1/models", bearer: GatewayHost.Token([Scopes.ModelsRead])));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
