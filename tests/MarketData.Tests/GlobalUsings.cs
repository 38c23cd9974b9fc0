// Namespaces most files of this suite use.
global using System.Net;
global using System.Net.Http.Json;
global using System.Text;
global using System.Text.Json;
global using Platform.Contracts;
