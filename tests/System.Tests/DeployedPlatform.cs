using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Platform.Contracts;

namespace Platform.SystemTests;

/// <summary>
/// The platform in its deployed shape on one machine: every service's own program in its own OS process, two serving and
/// two features replicas, all on the embedded runtime sharing one data directory (its SQLite log gives each app id one
/// consumer group across processes, as Dapr does), and the gateway configured with the configuration keys the Kubernetes
/// overlay sets (<see cref="OverlaySettings"/>), its secrets read from the secret store under their deployed names.
/// Moving it onto sidecars changes <see cref="RuntimeEnvironment"/> and the destination addresses, nothing else.
/// </summary>
public sealed partial class DeployedPlatform : IAsyncLifetime
{
    public const string Environment = "prod";
    public static readonly string JwtKey = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("system-test-signing-key-of-32-bytes-or-more"));
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    private readonly List<ServiceProcess> _processes = [];

    public string DataDir { get; } = Path.Combine(Path.GetTempPath(), "system-tests-" + Guid.NewGuid().ToString("N"));
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };
    public ServiceProcess Gateway { get; private set; } = null!;
    public IReadOnlyList<ServiceProcess> Serving => _processes.Where(p => p.AppId == "serving").ToList();
    public IReadOnlyList<ServiceProcess> Processes => _processes;
    public IReadOnlyDictionary<string, string> GatewaySettings { get; private set; } = new Dictionary<string, string>();

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(DataDir);
        // Replica count per app: the gateway is started last, once it knows every address.
        (string AppId, int Replicas)[] topology =
            [("marketdata", 1), ("features", 2), ("training", 1), ("serving", 2), ("backtesting", 1), ("monitoring", 1)];
        foreach (var (appId, replicas) in topology)
        {
            var started = await Task.WhenAll(Enumerable.Range(1, replicas).Select(i =>
                ServiceProcess.StartAsync(appId, $"{appId}-{i}", RuntimeEnvironment(appId, i), StartTimeout)));
            _processes.AddRange(started);
        }

        GatewaySettings = GatewayEnvironment();
        Gateway = await ServiceProcess.StartAsync("gateway", "gateway", new Dictionary<string, string>(RuntimeEnvironment("gateway", 1).Concat(GatewaySettings)),
            StartTimeout);
        _processes.Add(Gateway);
    }

    /// <summary>What the embedded runtime needs; under sidecars this becomes DAPR_HTTP_PORT/DAPR_GRPC_PORT of each app's own sidecar.</summary>
    private Dictionary<string, string> RuntimeEnvironment(string appId, int replica)
    {
        var environment = new Dictionary<string, string>
        {
            ["Runtime__Mode"] = "embedded",
            ["DataDir"] = DataDir,
            ["PubSub__Embedded__PollInterval"] = "00:00:00.050",
            ["MarketData__Demo__Enabled"] = "false",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        if (appId == "serving") environment["Serving__ReplicaId"] = $"serving-{replica}";
        return environment;
    }

    /// <summary>
    /// The gateway's environment: every key the overlay's <c>gateway-settings</c> sets, with the destination addresses
    /// pointed at this machine's processes (one destination per replica, where Kubernetes has the sidecar), and the
    /// secrets under the names the deployment gives them.
    /// </summary>
    private Dictionary<string, string> GatewayEnvironment()
    {
        var settings = OverlaySettings();
        foreach (var key in settings.Keys.ToList())
        {
            var match = DestinationKey().Match(key);
            if (!match.Success) continue;
            var cluster = match.Groups["cluster"].Value;
            var replicas = _processes.Where(p => p.AppId == cluster).ToList();
            if (replicas.Count == 0) throw new InvalidOperationException($"The overlay routes cluster '{cluster}' to an app this test does not run.");
            settings[key] = replicas[0].Url;
            for (var i = 1; i < replicas.Count; i++) settings[$"ReverseProxy__Clusters__{cluster}__Destinations__{replicas[i].Name}__Address"] = replicas[i].Url;
        }
        settings[SecretVariable(SecretNames.GatewayJwtSigningKey)] = JwtKey;
        settings[SecretVariable(SecretNames.GatewayApiKeyPepper)] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        return settings;
    }

    /// <summary>The literals of <c>gateway-settings</c> in the gateway base and the environment's overlay (the overlay's win).</summary>
    public static Dictionary<string, string> OverlaySettings()
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in new[] { "gitops/base/gateway/kustomization.yaml", $"gitops/envs/{Environment}/kustomization.yaml" })
        {
            var inGatewaySettings = false;
            foreach (var line in File.ReadLines(Path.Combine(ServiceProcess.RepositoryRoot, file)))
            {
                if (Regex.IsMatch(line, @"^\s*- name: ")) inGatewaySettings = line.Trim() == "- name: gateway-settings";
                var literal = Regex.Match(line, @"^\s+- (?<key>[A-Za-z0-9_]+)=(?<value>.*)$");
                if (inGatewaySettings && literal.Success) settings[literal.Groups["key"].Value] = literal.Groups["value"].Value;
            }
        }
        if (settings.Count == 0) throw new InvalidOperationException("No gateway-settings literals found in the overlay.");
        return settings;
    }

    /// <summary>The embedded secret store's environment variable for a secret name.</summary>
    private static string SecretVariable(string name) =>
        "PLATFORM_SECRET_" + new string(name.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToUpperInvariant(c) : '_').ToArray());

    [GeneratedRegex("^ReverseProxy__Clusters__(?<cluster>[a-z]+)__Destinations__[A-Za-z0-9-]+__Address$")]
    private static partial Regex DestinationKey();

    /// <summary>A bearer token the overlay's issuer and audience accept, signed with the key in the secret store.</summary>
    public string Token(params string[] scopes)
    {
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = GatewaySettings["Gateway__Jwt__Issuer"],
            Audience = GatewaySettings["Gateway__Jwt__Audience"],
            Expires = DateTime.UtcNow.AddMinutes(30),
            Subject = new ClaimsIdentity([new Claim("sub", "platform-team"), new Claim("scope", string.Join(' ', scopes))]),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Convert.FromBase64String(JwtKey)), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }

    /// <summary>Creates an API key through the gateway's keys API with an admin bearer token; returns its secret.</summary>
    public async Task<string> CreateKeyAsync(string tier, params string[] scopes)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Gateway.Url + "/v1/keys")
        {
            Content = JsonContent.Create(new { name = "system-test-" + tier, tier, scopes }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token("admin"));
        using var response = await Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"POST /v1/keys answered {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("token").GetString()!;
    }

    public string Logs => string.Join('\n', _processes.Select(p => p.Log));

    public Task DisposeAsync()
    {
        foreach (var process in _processes) process.Dispose();
        Http.Dispose();
        try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return Task.CompletedTask;
    }
}
