using System.Net.Sockets;

namespace Platform.BuildingBlocks.Tests.Containers;

/// <summary>Whether a Docker engine answers here, as Testcontainers would find it (<c>DOCKER_HOST</c>, else the default socket).</summary>
public static class DockerEngine
{
    private const string DefaultSocket = "/var/run/docker.sock";
    private static readonly Lazy<string?> Reason = new(Probe);

    /// <summary>Null when an engine answers; otherwise why the container suites cannot run.</summary>
    public static string? Unavailable() => Reason.Value;

    private static string? Probe()
    {
        var host = Environment.GetEnvironmentVariable("DOCKER_HOST");
        if (!string.IsNullOrEmpty(host) && !host.StartsWith("unix://", StringComparison.Ordinal))
            return TcpAnswers(host) ? null : $"No Docker engine: DOCKER_HOST={host} does not accept connections.";
        var socket = string.IsNullOrEmpty(host) ? DefaultSocket : host["unix://".Length..];
        if (!File.Exists(socket))
            return $"No Docker engine: DOCKER_HOST is not set and {socket} does not exist (Kafka, Redis and daprd containers cannot start).";
        try
        {
            using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            s.Connect(new UnixDomainSocketEndPoint(socket));
            return null;
        }
        catch (SocketException ex)
        {
            return $"No Docker engine: {socket} refuses connections ({ex.SocketErrorCode}).";
        }
    }

    private static bool TcpAnswers(string host)
    {
        if (!Uri.TryCreate(host, UriKind.Absolute, out var uri)) return false;
        try
        {
            using var client = new TcpClient();
            return client.ConnectAsync(uri.Host, uri.Port).Wait(TimeSpan.FromSeconds(2));
        }
        catch (Exception ex) when (ex is SocketException or AggregateException)
        {
            return false;
        }
    }
}
