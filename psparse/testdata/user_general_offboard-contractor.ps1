<#
	.SYNOPSIS
	Offboard a contractor account

	.DESCRIPTION
	Blocks sign-in for a contractor, removes the licences that were assigned
	directly and, when asked to, archives the mailbox before the account is
	deleted after the retention period.

	.PARAMETER UserName
	UPN of the contractor to offboard.

	.PARAMETER blockSignIn
	When true, sign-in is blocked right away.

	.PARAMETER licenceMode
	0 keeps licences, 1 removes direct assignments, 2 removes all.

    .PARAMETER CallerName
    Who started the runbook (for the audit trail).

    .NOTES
    Permissions (Graph, application):
    - User.ReadWrite.All
    - GroupMember.ReadWrite.All

    .INPUTS
    RunbookCustomization: {
        "Parameters": {
            "UserName": {
                "Hide": true
            },
            // shown as a dropdown
            "licenceMode": {
                "DisplayName": "What happens to licences",
                "Select": {
                    "Options": [
                        { "Display": "Keep them", "Value": 0 },
                        { "Display": "Remove direct assignments", "Value": 1 },
                        { "Display": "Remove all", "Value": 2, },
                    ]
                }
            },
            "CallerName": {
                "Hide": true
            },
        }
    }

    .EXAMPLE
    Tenant settings sample:
    {
        "Settings": {
            "OffboardContractor": { "archiveGroup": "ARC_Contractors", } // trailing comma on purpose
        }
    }

    .EXAMPLE
    Start from the API with {"UserName": "jane@contoso.example"}

    .INPUTS
    RunbookCustomization: {
        "Parameters": { "CallerName": { "Hide": true } }
    }
#>

#Requires -Modules @{ModuleName = "RealmJoin.RunbookHelper"; ModuleVersion = "0.8.3" }
#Requires -Modules @{ ModuleName = "ExchangeOnlineManagement"; ModuleVersion = "3.4.0" }

param (
    [Parameter(Mandatory = $true)]
    [ValidateScript( { Set-ExecutionPolicy -ExecutionPolicy Bypass -Scope Process; Use-RJInterface -Type Graph -Entity User -DisplayName "Contractor" } )]
    [String] $UserName,
    [ValidateScript( { Set-ExecutionPolicy -ExecutionPolicy Bypass -Scope Process; Use-RJInterface -Type Setting -Attribute "OffboardContractor.blockSignIn" } )]
    [bool] $blockSignIn = $true,
    [ValidateScript( { Use-RJInterface -Type Setting -Attribute "OffboardContractor.licenceMode" } )]
    [int] $licenceMode = 1,
    [ValidateScript( { Use-RJInterface -Type Setting -Attribute "OffboardContractor.archiveGroup" -DisplayName "Archive group" } )]
    [string] $archiveGroup = "ARC_Contractors",
    # Days to keep the account before it is deleted
    [ValidateRange(1, 365)]
    [int] $RetentionDays = 30,
    [ValidateSet("Keep", "Convert", "Delete", IgnoreCase = $false)]
    [string] $MailboxAction = "Convert",
    [ValidateScript( { Use-RJInterface -Type DateTime -Date } )]
    [datetime] $DeleteAfter = (Get-Date).AddDays(30),
    [ValidateScript( { Use-RJInterface -Type Textarea } )]
    [string] $Note = 'Offboarded by the service desk.',
    # CallerName is tracked purely for auditing purposes
    [Parameter(Mandatory = $true)]
    [string] $CallerName
)

Write-RjRbLog -Message "Caller: '$CallerName'" -Verbose

$Version = "1.2.0"
Write-RjRbLog -Message "Version: $Version" -Verbose

Connect-RjRbGraph
Connect-RjRbExchangeOnline

function Get-DirectLicense {
    <#
        .SYNOPSIS
        Not the script's help: a function's.
    #>
    param(
        [Parameter(Mandatory)]
        [string] $UserId
    )
    $lic = Invoke-RjRbRestMethodGraph -Resource "/users/$UserId/licenseDetails"
    return $lic | Where-Object { -not $_.inheritedFrom }
}

"## Offboarding contractor '$UserName'"
$target = Invoke-RjRbRestMethodGraph -Resource "/users/$UserName" -ErrorAction SilentlyContinue
if (-not $target) {
    throw "User '$UserName' not found."
}

if ($blockSignIn) {
    $body = @{ accountEnabled = $false }
    Invoke-RjRbRestMethodGraph -Resource "/users/$($target.id)" -Method Patch -Body $body | Out-Null
    "## Sign-in blocked for $($target.displayName)"
}

switch ($licenceMode) {
    1 {
        foreach ($l in (Get-DirectLicense -UserId $target.id)) {
            $body = @{ addLicenses = @(); removeLicenses = @($l.skuId) }
            Invoke-RjRbRestMethodGraph -Resource "/users/$($target.id)/assignLicense" -Method Post -Body $body | Out-Null
        }
    }
    2 { "## Removing all licences (group based ones need a group change)" }
    default { "## Keeping licences" }
}

$mail = @"
Hello,

the account of $($target.displayName) was offboarded by $CallerName.
It will be deleted after $($DeleteAfter.ToString('yyyy-MM-dd')) ($RetentionDays days).
$(if ($Note) {
@"
Note: $Note
"@
} else { "" })
Regards
"@

$summary = @'
Literal text: $notAVariable, "quotes" and 'single quotes' stay as they are.
'@

$odataRef = "/groups/$($archiveGroup)/members/`$ref"
$mask = 0xFF -band 0x0F
$size = 1.5kb + 2MB
$ids = @($target.id, "$($target.id)-shadow") -join ","
[string[]] $labels = "a", 'b', "c"
$map = [ordered]@{ Action = $MailboxAction; Days = [int]$RetentionDays }

if ($MailboxAction -eq "Convert") {
    Set-Mailbox -Identity $UserName -Type Shared `
        -HiddenFromAddressListsEnabled $true
}

Write-RjRbLog -Message ("Summary: {0}" -f ($map | ConvertTo-Json -Compress)) -Verbose
$mail | Out-String
"## Done."
