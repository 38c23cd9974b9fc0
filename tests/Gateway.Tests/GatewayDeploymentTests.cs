using System.Net;
using System.Net.Http.Json;
using Platform.Contracts;
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
