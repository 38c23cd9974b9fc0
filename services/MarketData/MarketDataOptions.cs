namespace Platform.MarketData;

/// <summary>Settings of the marketdata service (section <c>MarketData</c>).</summary>
public sealed class MarketDataOptions
{
    public DemoOptions Demo { get; set; } = new();
    public RelayOptions Relay { get; set; } = new();
    public ImportApiOptions Imports { get; set; } = new();
    public ReplayOptions Replay { get; set; } = new();

    public sealed class DemoOptions
    {
        /// <summary>Seed a synthetic universe when the store is empty. Default: on in embedded mode, off under Dapr.</summary>
        public bool? Enabled { get; set; }
        public int Symbols { get; set; } = 5;
        public int Years { get; set; } = 3;
        public ulong Seed { get; set; } = 42;
    }

    public sealed class RelayOptions
    {
        /// <summary>How often the relay looks for outbox rows written by another process (in-process writes wake it at once).</summary>
        public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);
        public int BatchSize { get; set; } = 512;
        /// <summary>Sent outbox rows are deleted after this long.</summary>
        public TimeSpan KeepSent { get; set; } = TimeSpan.FromDays(1);
    }

    public sealed class ReplayOptions
    {
        /// <summary>Most bars one replay of stored bars may cover (it holds them in memory); a file replay is bounded by <c>Imports:MaxContentBytes</c>.</summary>
        public long MaxBars { get; set; } = 2_000_000;
    }

    public sealed class ImportApiOptions
    {
        /// <summary>
        /// Directories a server-side path given to the API (<c>POST /v1/market/imports</c>, <c>POST /v1/market/replays</c>)
        /// may lead into once links are resolved (see <c>ServerFiles</c>); empty: the data directory only.
        /// </summary>
        public List<string> AllowedRoots { get; set; } = [];
        /// <summary>Largest upload, or server-side file named by an import or a replay, accepted, in bytes.</summary>
        public long MaxContentBytes { get; set; } = 256L * 1024 * 1024;
    }
}
