//! The notice that rewritten messages carry (`[notice]`): its position, its
//! headings and the style of its HTML box.

use mailgate_message::{NoticePosition, NoticeTemplate};
use serde::Deserialize;

/// Settings of the notice that lists the links to uploaded attachments and
/// the withheld ones. Each default is the text or style of
/// [`NoticeTemplate::default`].
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoticeConfig {
    /// Position of the notice in the text and HTML bodies: `bottom` (the
    /// default) or `top`.
    pub position: NoticePositionConfig,
    /// Heading of the list of links. Default `Attachments of this message
    /// were moved to secure storage:`.
    pub links_heading: String,
    /// Heading of the list of withheld attachments. Default `Attachments of
    /// this message were removed:`.
    pub withheld_heading: String,
    /// Text between a withheld attachment's reason and its vault URL, for a
    /// blocked file that the vault keeps until a rescan finds it clean.
    /// Default `kept in secure storage; available once a new scan finds it
    /// clean`.
    pub withheld_link_text: String,
    /// CSS for the `style` attribute of the notice's HTML box and of each
    /// note's box. Default: a grey box with a thin border.
    pub html_style: String,
}

impl Default for NoticeConfig {
    fn default() -> Self {
        let template = NoticeTemplate::default();
        NoticeConfig {
            position: NoticePositionConfig::Bottom,
            links_heading: template.links_heading,
            withheld_heading: template.withheld_heading,
            withheld_link_text: template.withheld_link_text,
            html_style: template.html_style,
        }
    }
}

/// Position of the notice, as written in the configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoticePositionConfig {
    /// At the start of the text body and right after `<body>` in the HTML body.
    Top,
    /// At the end of the text body and before `</body>` in the HTML body.
    #[default]
    Bottom,
}

impl NoticeConfig {
    /// Returns the template that rewrites use for these settings.
    pub fn template(&self) -> NoticeTemplate {
        NoticeTemplate {
            position: match self.position {
                NoticePositionConfig::Top => NoticePosition::Top,
                NoticePositionConfig::Bottom => NoticePosition::Bottom,
            },
            links_heading: self.links_heading.clone(),
            withheld_heading: self.withheld_heading.clone(),
            withheld_link_text: self.withheld_link_text.clone(),
            html_style: self.html_style.clone(),
        }
    }

    /// Checks the values and returns the setting and the problem of the
    /// first invalid one.
    pub(crate) fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        let texts = [
            ("notice.links_heading", &self.links_heading),
            ("notice.withheld_heading", &self.withheld_heading),
            ("notice.withheld_link_text", &self.withheld_link_text),
        ];
        for (setting, text) in texts {
            if text.trim().is_empty() {
                return Err((setting, "must not be empty; leave the setting out for the default text"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn notice_defaults_match_template() {
        let config = Config::from_toml("").unwrap();

        assert_eq!(config.notice.position, NoticePositionConfig::Bottom);
        assert_eq!(config.notice.template(), NoticeTemplate::default());
    }

    #[test]
    fn notice_settings_parsed() {
        let config = Config::from_toml(
            "[notice]\nposition = \"top\"\nlinks_heading = \"Files in secure storage:\"\n\
             withheld_heading = \"Blocked files:\"\nwithheld_link_text = \"held until a clean scan\"\n\
             html_style = \"border:1px solid #900\"\n",
        )
        .unwrap();

        let template = config.notice.template();
        assert_eq!(template.position, NoticePosition::Top);
        assert_eq!(template.links_heading, "Files in secure storage:");
        assert_eq!(template.withheld_heading, "Blocked files:");
        assert_eq!(template.withheld_link_text, "held until a clean scan");
        assert_eq!(template.html_style, "border:1px solid #900");
    }

    #[test]
    fn notice_partial_settings_keep_defaults() {
        let config = Config::from_toml("[notice]\nwithheld_heading = \"Blocked files:\"\n").unwrap();

        let template = config.notice.template();
        assert_eq!(template.withheld_heading, "Blocked files:");
        assert_eq!(template.links_heading, NoticeTemplate::default().links_heading);
        assert_eq!(template.position, NoticePosition::Bottom);
    }

    #[test]
    fn notice_unknown_position_rejected() {
        let error = Config::from_toml("[notice]\nposition = \"middle\"\n").unwrap_err().to_string();

        assert!(error.contains("unknown variant `middle`"), "{error}");
        assert!(error.contains("expected `top` or `bottom`"), "{error}");
        assert!(error.contains("position"), "{error}");
    }

    #[test]
    fn notice_unknown_key_rejected() {
        let error = Config::from_toml("[notice]\nheading = \"x\"\n").unwrap_err().to_string();

        assert!(error.contains("unknown field `heading`"), "{error}");
    }

    #[test]
    fn notice_empty_heading_rejected() {
        let error = Config::from_toml("[notice]\nlinks_heading = \" \"\n").unwrap_err().to_string();

        assert!(error.contains("notice.links_heading"), "{error}");
        assert!(error.contains("must not be empty"), "{error}");
    }
}
