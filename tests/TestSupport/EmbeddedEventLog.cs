using Microsoft.Data.Sqlite;
using Platform.BuildingBlocks.Embedded;

namespace Platform.TestSupport;

/// <summary>Reads the embedded runtime's event log file directly, as an operator would, to see what reached a topic.</summary>
public static class EmbeddedEventLog
{
    /// <summary>The ids of the events in <paramref name="topic"/>, in log order (redeliveries and duplicates included).</summary>
    public static IReadOnlyList<string> Ids(string dataDir, string topic)
    {
        using var connection = new SqliteConnection($"Data Source={EmbeddedRuntimeExtensions.EventLogFile(dataDir)};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM events WHERE topic = $topic ORDER BY seq";
        command.Parameters.AddWithValue("$topic", topic);
        using var reader = command.ExecuteReader();
        var ids = new List<string>();
        while (reader.Read()) ids.Add(reader.GetString(0));
        return ids;
    }
}
