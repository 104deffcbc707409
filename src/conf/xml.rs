//! Reads one Hadoop configuration resource (`core-site.xml`, `hdfs-site.xml`, a `-conf` file):
//! a `<configuration>` of `<property>` elements with `name`, `value` and `final` children (or
//! attributes). `description`, `source` and `tag` are ignored. A document that is not
//! well-formed, or not a configuration, is refused with its line and column.

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::ConfError;

/// One `<property>` as written in the resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlProperty {
    /// The name, trimmed (Hadoop trims names but never values).
    pub name: String,
    /// The value exactly as written, entities decoded; `None` when the property has no
    /// `<value>` at all (Hadoop skips such properties).
    pub value: Option<String>,
    pub is_final: bool,
    /// Line of the `<property>` start tag, for messages.
    pub line: usize,
}

/// Which child of `<property>` text currently goes to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Value,
    Final,
    Ignored,
}

/// Parses `text`; `resource` names it in errors.
pub fn parse_resource(resource: &str, text: &str) -> Result<Vec<XmlProperty>, ConfError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let error_at = |offset: u64, reason: String| {
        let (line, column) = line_and_column(text, offset as usize);
        ConfError::Xml {
            resource: resource.to_string(),
            line,
            column,
            reason,
        }
    };

    let mut properties = Vec::new();
    // Open elements, outermost first.
    let mut open: Vec<String> = Vec::new();
    let mut saw_root = false;
    let mut current: Option<PropertyBuilder> = None;
    let mut field = Field::Ignored;
    let mut text_buf = String::new();

    loop {
        let position = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(err) => return Err(error_at(reader.error_position(), err.to_string())),
        };
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                let is_empty = matches!(event, Event::Empty(_));
                let name = element_name(start);
                if open.is_empty() {
                    if saw_root {
                        return Err(error_at(position, "more than one top-level element".into()));
                    }
                    saw_root = true;
                    if name != "configuration" {
                        return Err(error_at(
                            position,
                            format!("top-level element is <{name}>, not <configuration>"),
                        ));
                    }
                } else if name == "include" || name.ends_with(":include") {
                    return Err(error_at(
                        position,
                        "XInclude (<xi:include>) is not supported; merge the included file into this one".into(),
                    ));
                } else if name == "property" && current.is_none() {
                    let (line, _) = line_and_column(text, position as usize);
                    let mut builder = PropertyBuilder::new(line);
                    builder
                        .take_attributes(start)
                        .map_err(|reason| error_at(position, reason))?;
                    current = Some(builder);
                } else if current.is_some() && open.last().is_some_and(|p| p == "property") {
                    field = match name.as_str() {
                        "name" => Field::Name,
                        "value" => Field::Value,
                        "final" => Field::Final,
                        _ => Field::Ignored,
                    };
                    text_buf.clear();
                }
                if is_empty {
                    close_element(
                        &name,
                        &mut current,
                        &mut field,
                        &mut text_buf,
                        &mut properties,
                    );
                } else {
                    open.push(name);
                }
            }
            Event::End(end) => {
                let name = end.name().as_ref().to_string();
                open.pop();
                close_element(
                    &name,
                    &mut current,
                    &mut field,
                    &mut text_buf,
                    &mut properties,
                );
            }
            Event::Text(t) => {
                if field != Field::Ignored {
                    text_buf.push_str(&t.xml_content(XmlVersion::Implicit1_0));
                } else if open.is_empty() && !t.into_inner().trim().is_empty() {
                    return Err(error_at(position, "text outside the root element".into()));
                }
            }
            Event::CData(c) => {
                if field != Field::Ignored {
                    text_buf.push_str(&c.xml_content(XmlVersion::Implicit1_0));
                }
            }
            Event::GeneralRef(r) => {
                let name = r.into_inner().into_owned();
                let ch = resolve_entity(&name)
                    .ok_or_else(|| error_at(position, format!("unknown entity &{name};")))?;
                if field != Field::Ignored {
                    text_buf.push(ch);
                }
            }
            Event::Eof => {
                if let Some(unclosed) = open.last() {
                    return Err(error_at(
                        text.len() as u64,
                        format!("unexpected end of file: <{unclosed}> is not closed"),
                    ));
                }
                if !saw_root {
                    return Err(error_at(
                        text.len() as u64,
                        "no <configuration> element (the file is empty or has only comments)"
                            .into(),
                    ));
                }
                return Ok(properties);
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
}

fn element_name(start: &BytesStart<'_>) -> String {
    start.name().as_ref().to_string()
}

fn close_element(
    name: &str,
    current: &mut Option<PropertyBuilder>,
    field: &mut Field,
    text_buf: &mut String,
    properties: &mut Vec<XmlProperty>,
) {
    let Some(builder) = current.as_mut() else {
        return;
    };
    match (name, *field) {
        ("property", _) => {
            if let Some(done) = current.take().and_then(PropertyBuilder::finish) {
                properties.push(done);
            }
            *field = Field::Ignored;
        }
        (_, Field::Ignored) => {}
        (_, f) => {
            let text = std::mem::take(text_buf);
            match f {
                Field::Name => builder.name = Some(text.trim().to_string()),
                Field::Value => builder.value = Some(text),
                Field::Final => builder.is_final = text.trim() == "true",
                Field::Ignored => {}
            }
            *field = Field::Ignored;
        }
    }
}

struct PropertyBuilder {
    name: Option<String>,
    value: Option<String>,
    is_final: bool,
    line: usize,
}

impl PropertyBuilder {
    fn new(line: usize) -> Self {
        PropertyBuilder {
            name: None,
            value: None,
            is_final: false,
            line,
        }
    }

    /// Hadoop also accepts `<property name="…" value="…" final="true"/>`.
    fn take_attributes(&mut self, start: &BytesStart<'_>) -> Result<(), String> {
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|err| err.to_string())?;
            let value = attribute
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| err.to_string())?
                .into_owned();
            match attribute.key.as_ref() {
                "name" => self.name = Some(value.trim().to_string()),
                "value" => self.value = Some(value),
                "final" => self.is_final = value.trim() == "true",
                _ => {}
            }
        }
        Ok(())
    }

    fn finish(self) -> Option<XmlProperty> {
        let name = self.name.filter(|n| !n.is_empty())?;
        Some(XmlProperty {
            name,
            value: self.value,
            is_final: self.is_final,
            line: self.line,
        })
    }
}

/// XML's predefined entities and character references.
fn resolve_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let code = if let Some(hex) = name.strip_prefix("#x") {
                u32::from_str_radix(hex, 16).ok()?
            } else {
                name.strip_prefix('#')?.parse().ok()?
            };
            char::from_u32(code)
        }
    }
}

/// Writes `properties` as a Hadoop site file (`core-site.xml`, `hdfs-site.xml`) that
/// [`parse_resource`] and Hadoop both read back unchanged: names and values are escaped.
pub fn site_xml<K: AsRef<str>, V: AsRef<str>>(properties: &[(K, V)]) -> String {
    let mut xml = String::from("<?xml version=\"1.0\"?>\n<configuration>\n");
    for (name, value) in properties {
        xml.push_str(&format!(
            "  <property><name>{}</name><value>{}</value></property>\n",
            quick_xml::escape::escape(name.as_ref()),
            quick_xml::escape::escape(value.as_ref())
        ));
    }
    xml.push_str("</configuration>\n");
    xml
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<XmlProperty>, ConfError> {
        parse_resource("test.xml", text)
    }

    fn xml_error(text: &str) -> (usize, usize, String) {
        match parse(text).unwrap_err() {
            ConfError::Xml {
                resource,
                line,
                column,
                reason,
            } => {
                assert_eq!(resource, "test.xml");
                (line, column, reason)
            }
            other => panic!("not an XML error: {other:?}"),
        }
    }

    #[test]
    fn a_written_site_file_reads_back_unchanged() {
        let written = [
            ("dfs.nameservices", "ns1"),
            ("odd", " <a & 'b'> \"c\" "),
            ("empty", ""),
        ];
        let props = parse(&site_xml(&written)).unwrap();
        let read: Vec<(&str, &str)> = props
            .iter()
            .map(|p| (p.name.as_str(), p.value.as_deref().unwrap()))
            .collect();
        assert_eq!(read, written);
    }

    #[test]
    fn reads_properties_with_children_and_attributes() {
        let props = parse(
            r#"<?xml version="1.0"?>
<?xml-stylesheet type="text/xsl" href="configuration.xsl"?>
<!-- site file -->
<configuration>
  <property>
    <name> dfs.nameservices </name>
    <value>mycluster</value>
    <description>the <b>nameservice</b></description>
  </property>
  <property><name>a</name><value> keep  spaces </value><final>true</final></property>
  <property name="b" value="x &amp; y" final="true"/>
  <property><name>empty</name><value/></property>
  <property><name>novalue</name></property>
  <property><value>noname</value></property>
  <property><name>ent</name><value>&lt;&#65;&#x42;&gt;<![CDATA[<raw>]]></value></property>
</configuration>
"#,
        )
        .unwrap();
        let got: Vec<_> = props
            .iter()
            .map(|p| (p.name.as_str(), p.value.as_deref(), p.is_final))
            .collect();
        assert_eq!(
            got,
            vec![
                ("dfs.nameservices", Some("mycluster"), false),
                ("a", Some(" keep  spaces "), true),
                ("b", Some("x & y"), true),
                ("empty", Some(""), false),
                ("novalue", None, false),
                ("ent", Some("<AB><raw>"), false),
            ]
        );
        assert_eq!(props[0].line, 5);
    }

    #[test]
    fn multi_line_values_are_kept_verbatim() {
        let props = parse(
            "<configuration><property><name>dfs.ha.fencing.methods</name><value>\n    sshfence(hdfs:2222)\n    shell(/bin/true)\n  </value></property></configuration>",
        )
        .unwrap();
        assert_eq!(
            props[0].value.as_deref(),
            Some("\n    sshfence(hdfs:2222)\n    shell(/bin/true)\n  ")
        );
    }

    #[test]
    fn a_mismatched_tag_names_line_and_column() {
        let (line, column, reason) = xml_error(
            "<configuration>\n  <property>\n    <name>x</nme>\n  </property>\n</configuration>\n",
        );
        assert_eq!((line, column), (3, 12));
        assert!(
            reason.contains("nme") || reason.contains("name"),
            "{reason}"
        );
    }

    #[test]
    fn truncated_empty_and_foreign_documents_are_refused() {
        let (line, _, reason) = xml_error("<configuration>\n  <property>\n    <name>x</name>\n");
        assert_eq!(line, 4);
        assert!(reason.contains("not closed"), "{reason}");

        let (line, column, reason) = xml_error("");
        assert_eq!((line, column), (1, 1));
        assert!(reason.contains("no <configuration>"), "{reason}");

        let (_, _, reason) = xml_error("<!-- nothing -->\n");
        assert!(reason.contains("no <configuration>"), "{reason}");

        let (line, _, reason) = xml_error("\n<beans></beans>");
        assert_eq!(line, 2);
        assert!(reason.contains("<beans>"), "{reason}");

        let (_, _, reason) = xml_error("<configuration></configuration><configuration/>");
        assert!(reason.contains("more than one"), "{reason}");

        let (_, _, reason) =
            xml_error("<configuration><property><name>a&bogus;</name></property></configuration>");
        assert!(reason.contains("bogus"), "{reason}");

        let (_, _, reason) =
            xml_error("<configuration><xi:include href=\"x.xml\"/></configuration>");
        assert!(reason.contains("XInclude"), "{reason}");
    }

    #[test]
    fn line_and_column_count_characters() {
        assert_eq!(line_and_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_and_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_and_column("é\nx", 3), (2, 1));
        assert_eq!(line_and_column("ab", 99), (1, 3));
    }
}
