using System.CommandLine;
using Platform.Gateway.Identity;

namespace Platform.Host.Commands;

/// <summary><c>./platform keys create|list|revoke</c>: the gateway's API keys in the data directory.</summary>
public sealed class KeysCommand : IPlatformCommand
{
    public Command Create()
    {
        var command = new Command("keys", "Create, list and revoke gateway API keys.");
        command.Add(CreateVerb());
        command.Add(ListVerb());
        command.Add(RevokeVerb());
        return command;
    }

    private static Command CreateVerb()
    {
        var name = new Option<string>("--name") { Description = "What the key is for (shown in lists and logs).", Required = true };
        var tier = new Option<string?>("--tier") { Description = "Rate-limit tier: free, standard (default) or premium, or any configured tier." };
        var scopes = new Option<string?>("--scopes")
        {
            Description = $"Comma-separated scopes ({string.Join(", ", Scopes.All)}); default none.",
        };
        var owner = new Option<string?>("--owner") { Description = "Who holds the key." };
        var dataDir = PlatformCommands.DataDirOption();
        var verb = new Command("create", "Create a key; the key is printed once, on the last line.") { name, tier, scopes, owner, dataDir };
        verb.SetAction(async (parse, ct) =>
        {
            var scopeList = (parse.GetValue(scopes) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var unknown = scopeList.Where(s => !Scopes.IsKnown(s)).ToList();
            if (unknown.Count > 0)
            {
                Console.Error.WriteLine($"--scopes: unknown scope(s) {string.Join(", ", unknown)}. Known: {string.Join(", ", Scopes.All)}.");
                return 2;
            }
            await using var store = OfflineKeyStore.Open(parse.GetValue(dataDir)!.FullName);
            if (!store.Keys.IsKnownTier(parse.GetValue(tier)))
            {
                Console.Error.WriteLine($"--tier: unknown tier '{parse.GetValue(tier)}'. Known: {store.Keys.KnownTiers}.");
                return 2;
            }
            var created = await store.Keys.CreateAsync(parse.GetValue(name)!, parse.GetValue(tier), scopeList, parse.GetValue(owner), ct);
            var k = created.Key;
            Console.WriteLine($"Created key {k.Id} '{k.Name}' (tier {k.Tier}; scopes {Describe(k.Scopes)}).");
            Console.WriteLine("Store it now: it cannot be shown again. Send it as the X-Api-Key header.");
            Console.WriteLine(created.Token);
            return 0;
        });
        return verb;
    }

    private static Command ListVerb()
    {
        var dataDir = PlatformCommands.DataDirOption();
        var verb = new Command("list", "List keys (ids, names, tiers, scopes; never the keys).") { dataDir };
        verb.SetAction(async (parse, ct) =>
        {
            await using var store = OfflineKeyStore.Open(parse.GetValue(dataDir)!.FullName);
            var keys = await store.Keys.ListAsync(ct);
            if (keys.Count == 0)
            {
                Console.WriteLine("No keys. Create one with ./platform keys create --name NAME --scopes ...");
                return 0;
            }
            Console.WriteLine($"{"ID",-16}  {"NAME",-20} {"TIER",-9} {"CREATED (UTC)",-16}  {"STATUS",-24} SCOPES");
            foreach (var k in keys)
            {
                var status = k.RevokedAt is { } r ? $"revoked {r.UtcDateTime:yyyy-MM-dd HH:mm}" : "active";
                Console.WriteLine($"{k.Id,-16}  {Clip(k.Name, 20),-20} {k.Tier,-9} {k.CreatedAt.UtcDateTime:yyyy-MM-dd HH:mm}  {status,-24} {Describe(k.Scopes)}");
            }
            return 0;
        });
        return verb;
    }

    private static Command RevokeVerb()
    {
        var id = new Argument<string>("id") { Description = "The key id (the 16 hex characters after pk_)." };
        var dataDir = PlatformCommands.DataDirOption();
        var verb = new Command("revoke", "Revoke a key (a running gateway stops accepting it within its cache TTL, 30 s by default).") { id, dataDir };
        verb.SetAction(async (parse, ct) =>
        {
            var keyId = parse.GetValue(id)!.Trim();
            // Accept a whole key too: its id is the part after the prefix.
            if (ApiKeyToken.TryParse(keyId, out var parsed, out _)) keyId = parsed;
            await using var store = OfflineKeyStore.Open(parse.GetValue(dataDir)!.FullName);
            var revoked = await store.Keys.RevokeAsync(keyId, ct);
            if (revoked is null)
            {
                Console.Error.WriteLine($"No key with id '{keyId}'.");
                return 1;
            }
            Console.WriteLine($"Revoked key {revoked.Id} '{revoked.Name}' at {revoked.RevokedAt!.Value.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC.");
            return 0;
        });
        return verb;
    }

    private static string Describe(IReadOnlyList<string> scopes) => scopes.Count == 0 ? "(none)" : string.Join(",", scopes);

    private static string Clip(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";
}
