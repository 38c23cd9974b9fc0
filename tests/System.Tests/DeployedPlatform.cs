using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text.RegularExpressions;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Platform.Contracts;
using Platform.DaprSidecar.Testing;

namespace Platform.SystemTests;

/// <summary>
/// The platform in its deployed shape on one machine: every service's own program in its own OS process on the Dapr
/// adapter (<c>Runtime__Mode=dapr</c>), each replica with its own faithful sidecar (<see cref="SidecarCluster"/>: one broker,
/// one state backend and one secret store behind all of them, Kafka-like consumer groups per app id, the app token on
/// every call to an app), two serving and two features replicas, and the gateway configured with the configuration keys the
/// Kubernetes overlay sets (<see cref="OverlaySettings"/>): its destinations are its own sidecar's HTTP port, which forwards
/// each call by service invocation to a replica of the app the <c>dapr-app-id</c> header names. Its secrets are read from
/// the sidecars' secret store under their deployed names. The offline stores (bars, feature history, prediction log) are
/// SQLite files in one shared data directory, where Kubernetes has PostgreSQL.
/// </summary>
public sealed partial class DeployedPlatform : IAsyncLifetime
{
    public const string Environment = "prod";
    public static readonly string JwtKey = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("system-test-signing-key-of-32-bytes-or-more"));
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    private readonly List<ServiceProcess> _processes = [];
    private readonly Dictionary<ServiceProcess, FaithfulSidecar> _sidecars = [];

    public DeployedPlatform()
    {
        var options = new SidecarClusterOptions
        {
            // The Kubernetes manifests give every pod an app token (dapr.io/app-token-secret) and no API token.
            AppApiToken = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)),
            Delivery = ResiliencyFile.Load(Path.Combine(ServiceProcess.RepositoryRoot, "components", "resiliency.yaml")).Delivery(Components.PubSub),
        };
        options.Secrets[SecretNames.GatewayJwtSigningKey] = JwtKey;
        options.Secrets[SecretNames.GatewayApiKeyPepper] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        if (SecretNames.Gateway.FirstOrDefault(name => !options.Secrets.ContainsKey(name)) is { } missing)
            throw new InvalidOperationException($"The gateway reads the secret '{missing}', which this test does not provide.");
        Sidecars = new SidecarCluster(options);
    }

    public string DataDir { get; } = Path.Combine(Path.GetTempPath(), "system-tests-" + Guid.NewGuid().ToString("N"));
    public SidecarCluster Sidecars { get; }
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };
    public ServiceProcess Gateway { get; private set; } = null!;
    public IReadOnlyList<ServiceProcess> Serving => _processes.Where(p => p.AppId == "serving").ToList();
    public IReadOnlyList<ServiceProcess> Processes => _processes;
    public IReadOnlyDictionary<string, string> GatewaySettings { get; private set; } = new Dictionary<string, string>();

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(DataDir);
        (string AppId, int Replicas)[] topology =
            [("marketdata", 1), ("features", 2), ("training", 1), ("serving", 2), ("backtesting", 1), ("monitoring", 1)];
        foreach (var (appId, replicas) in topology)
            await Task.WhenAll(Enumerable.Range(1, replicas).Select(i => StartReplicaAsync(appId, $"{appId}-{i}", RuntimeEnvironment(appId, i))));

        var gatewaySidecar = await Sidecars.StartSidecarAsync("gateway");
        GatewaySettings = GatewayEnvironment(gatewaySidecar);
        Gateway = await StartReplicaAsync("gateway", "gateway", new Dictionary<string, string>(RuntimeEnvironment("gateway", 1).Concat(GatewaySettings)),
            gatewaySidecar);
    }

    /// <summary>Starts one replica as a pod runs it: its sidecar first, then the app pointed at it; the sidecar then reads the
    /// app's subscriptions and serves invocations of it.</summary>
    private async Task<ServiceProcess> StartReplicaAsync(string appId, string name, Dictionary<string, string> environment, FaithfulSidecar? sidecar = null)
    {
        sidecar ??= await Sidecars.StartSidecarAsync(appId);
        foreach (var (key, value) in sidecar.AppSettings())
            if (value is not null) environment[key] = value;
        var process = await ServiceProcess.StartAsync(appId, name, environment, StartTimeout);
        lock (_processes)
        {
            _processes.Add(process);
            _sidecars[process] = sidecar;
        }
        await sidecar.ConnectAppAsync(new Uri(process.Url));
        return process;
    }

    /// <summary>
    /// The replica's pod goes away, as on a node failure: the app is killed (SIGKILL) and its sidecar stops with it, so
    /// invocations resolve to the other replicas and its consumer groups lose a member.
    /// </summary>
    public async Task KillPodAsync(ServiceProcess replica)
    {
        replica.Kill();
        await _sidecars[replica].DisposeAsync();
    }

    /// <summary>What every app gets besides its sidecar's variables. The data directory holds the SQLite offline stores only.</summary>
    private Dictionary<string, string> RuntimeEnvironment(string appId, int replica)
    {
        var environment = new Dictionary<string, string>
        {
            ["Runtime__Mode"] = "dapr",
            // The faithful sidecars serve state, pub/sub, secrets and invocation, not the workflow API: training and
            // backtesting keep their workflows on the embedded runner over the sidecars' state and pub/sub (docs/workflows.md).
            ["Workflows__Engine"] = "embedded",
            ["DataDir"] = DataDir,
            ["MarketData__Demo__Enabled"] = "false",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        if (appId == "serving") environment["Serving__ReplicaId"] = $"serving-{replica}";
        return environment;
    }

    /// <summary>
    /// The gateway's environment: every key the overlay's <c>gateway-settings</c> sets, with each destination (the local
    /// sidecar's default HTTP port in the overlay) pointed at the port of the gateway's own sidecar. The app ids the overlay
    /// names must be apps this test runs.
    /// </summary>
    private Dictionary<string, string> GatewayEnvironment(FaithfulSidecar sidecar)
    {
        var settings = OverlaySettings();
        // daprd's default HTTP port, where the injector puts the sidecar in every pod.
        const string localSidecar = "http://127.0.0.1:3500";
        foreach (var key in settings.Keys.ToList())
        {
            if (DestinationKey().IsMatch(key))
            {
                if (settings[key].TrimEnd('/') != localSidecar)
                    throw new InvalidOperationException($"The overlay sets {key}={settings[key]}, not the local sidecar ({localSidecar}).");
                settings[key] = $"http://127.0.0.1:{sidecar.HttpPort}";
            }
            else if (AppIdKey().IsMatch(key) && !_processes.Any(p => p.AppId == settings[key]))
                throw new InvalidOperationException($"The overlay sets {key}={settings[key]}, an app this test does not run.");
        }
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

    [GeneratedRegex("^ReverseProxy__Clusters__(?<cluster>[a-z]+)__Destinations__[A-Za-z0-9-]+__Address$")]
    private static partial Regex DestinationKey();

    [GeneratedRegex("^ReverseProxy__Clusters__(?<cluster>[a-z]+)__Metadata__DaprAppId$")]
    private static partial Regex AppIdKey();

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

    public async Task DisposeAsync()
    {
        foreach (var process in _processes) process.Dispose();
        Http.Dispose();
        try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        // Fails the run when any sidecar saw a request it does not understand.
        await Sidecars.DisposeAsync();
    }
}
